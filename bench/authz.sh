#!/usr/bin/env bash
# Decision throughput of `gatehouse serve` beside two baselines, on this machine:
#   nginx returning a constant JSON body, and a bare Hummingbird route (bench-noop).
# Realistic policy (org + team restriction, deny list), 1,000 / 10,000 / 100,000 people
# seeded through the real API; wrk with a Lua script sending varied login decisions over
# keep-alive, 2 threads, 64 connections. Figures go to stdout and bench/out/.
# Usage: bench/authz.sh [--duration SECONDS] [--people "1000 10000 100000"]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DURATION=10
PEOPLE_STEPS="1000 10000 100000"
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION=$2; shift 2 ;;
    --people) PEOPLE_STEPS=$2; shift 2 ;;
    *) echo "usage: bench/authz.sh [--duration SECONDS] [--people \"1000 10000\"]" >&2; exit 2 ;;
  esac
done

. bench/lib.sh
install_missing wrk nginx-light python3 curl libsqlite3-dev libssl-dev libldap2-dev
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

echo "building release…"
swift build -c release >/dev/null
G=$ROOT/.build/release/gatehouse
NOOP=$ROOT/.build/release/bench-noop

WORK=$(mktemp -d /tmp/gatehouse-bench-XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -f "$WORK/nginx/nginx.pid" ] && kill -QUIT "$(cat "$WORK/nginx/nginx.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
wait_http() { for _ in $(seq 1 200); do curl -s -o /dev/null "$1" && return 0; sleep 0.05; done; echo "no answer from $1" >&2; exit 1; }

# --- Gatehouse with a license large enough for every step -------------------------------
cd "$WORK"
"$G" license keygen --out vendor.pem --kid bench > vendor.pub.pem 2>/dev/null
START=$(date -u -d "yesterday" +%Y-%m-%d); END=$(date -u -d "+364 days" +%Y-%m-%d)
cat > terms.json <<JSON
{"license_id":"lic_bench","licensee":"Bench Corp","issued_at":"${START}T00:00:00Z","starts_at":"${START}T00:00:00Z",
 "expires_at":"${END}T00:00:00Z","seats":150000,"seat_price_cents":25000,"currency":"USD",
 "instance_url":"https://codecov.bench.internal","grace_days":14,"supersedes":null}
JSON
"$G" license sign --key vendor.pem --kid bench --terms terms.json --out bench.lic >/dev/null
cat > gatehouse.yml <<YAML
instance_url: https://codecov.bench.internal
database: sqlite:$WORK/gatehouse.db
license:
  public_keys:
    - {kid: bench, pem_file: vendor.pub.pem}
YAML
mkdir policies
cat > policies/login.yml <<'YAML'
login:
  admins: ["github:root"]
  deny: ["github:mallory0", "github:mallory1", "github:mallory2", "github:mallory3", "github:mallory4",
         "github:mallory5", "github:mallory6", "github:mallory7", "github:mallory8", "github:mallory9"]
  github: {allowed_orgs: [acme], allowed_teams: [acme/eng, acme/ops]}
  gitlab: {allowed_groups: [acme]}
YAML
cp "$ROOT/policies/seats.yml" "$ROOT/policies/identity.yml" policies/
"$G" migrate >/dev/null
"$G" license install bench.lic >/dev/null
"$G" policy apply policies >/dev/null
TOKEN=$("$G" tokens create --name bench --scope authorize 2>/dev/null)
GH_PORT=$(free_port)
LOG_LEVEL=warning "$G" serve --port "$GH_PORT" > "$WORK/serve.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$GH_PORT/healthz"

# --- Baselines ---------------------------------------------------------------------------
NGINX_PORT=$(free_port)
mkdir -p nginx/tmp
cat > nginx/nginx.conf <<NGINX
worker_processes 2;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx/tmp; proxy_temp_path $WORK/nginx/tmp; fastcgi_temp_path $WORK/nginx/tmp;
  uwsgi_temp_path $WORK/nginx/tmp; scgi_temp_path $WORK/nginx/tmp;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / { default_type application/json; return 200 '{"allow":true}'; }
  }
}
NGINX
"$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' &
PIDS+=($!)
NOOP_PORT=$(free_port)
"$NOOP" "$NOOP_PORT" > /dev/null 2>&1 &
PIDS+=($!)   # PIDS: gatehouse, nginx master, bench-noop
wait_http "http://127.0.0.1:$NGINX_PORT/"
wait_http "http://127.0.0.1:$NOOP_PORT/healthz"

# --- Measure ---------------------------------------------------------------------------------
OUT=$ROOT/bench/out
mkdir -p "$OUT"
RESULT=$OUT/authz-$(date -u +%Y%m%dT%H%M%SZ).md
HZ=$(getconf CLK_TCK)
cpu_ticks() { local t=0; for p in "$@"; do t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat"))); done; echo $t; }
run_wrk() {  # name url pids… → "rps p50 p99 cpu_us_per_request"
  local name=$1 url=$2; shift 2
  local before after out
  before=$(cpu_ticks "$@")
  out=$(PEOPLE=${PEOPLE:-1000} TOKEN=$TOKEN wrk -t2 -c64 -d"${DURATION}s" --latency -s "$ROOT/bench/authz.lua" "$url")
  after=$(cpu_ticks "$@")
  echo "$out" > "$WORK/wrk-$name.txt"
  local errors; errors=$(echo "$out" | grep -E "Non-2xx|Socket errors" || true)
  [ -n "$errors" ] && [ "$name" != "${name#gatehouse}" ] && echo "  $name: $errors" >&2
  local rps p50 p99 reqs
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  echo "$rps $p50 $p99 $(python3 -c "print(f'{($after-$before)/$HZ*1e6/$reqs:.0f}')")"
}
ratio() { python3 -c "print(f'{$1/$2:.2f}×')"; }
NGINX_PIDS=$(pgrep -f "nginx: worker" | tr '\n' ' ')
NOOP_PID=${PIDS[2]}
GH_PID=${PIDS[0]}

{
  echo "# bench/authz.sh — $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo
  echo "Machine: $(nproc) cores ($(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2}')), $(free -g | awk '/Mem:/ {print $2}') GiB; $(swift --version 2>&1 | head -1)."
  echo "Load: wrk -t2 -c64 -d${DURATION}s --latency, keep-alive, the same Lua script (bench/authz.lua) for every target, on the same machine as the servers."
  echo "Each step measures the three targets back to back, so ratios compare one window of this (shared, noisy) machine."
  echo "CPU is the server process's user+system time per request (nginx: its workers)."
  echo
  echo "| people | target | requests/s | p50 | p99 | CPU µs/request | vs no-op (req/s) | vs nginx (req/s) |"
  echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
} > "$RESULT"

SEEDED=0
for N in $PEOPLE_STEPS; do
  echo "seeding people $SEEDED…$N through the API…"
  python3 "$ROOT/bench/seed.py" "http://127.0.0.1:$GH_PORT" "$TOKEN" "$SEEDED" "$N"
  SEEDED=$N
  sleep 2   # let the bookkeeping flush settle
  echo "measuring with $N people…"
  read -r NGINX_RPS NGINX_P50 NGINX_P99 NGINX_CPU <<< "$(PEOPLE=$N run_wrk "nginx-$N" "http://127.0.0.1:$NGINX_PORT/v1/authorize/login" $NGINX_PIDS)"
  read -r NOOP_RPS NOOP_P50 NOOP_P99 NOOP_CPU <<< "$(PEOPLE=$N run_wrk "noop-$N" "http://127.0.0.1:$NOOP_PORT/v1/authorize/login" "$NOOP_PID")"
  read -r RPS P50 P99 CPU <<< "$(PEOPLE=$N run_wrk "gatehouse-$N" "http://127.0.0.1:$GH_PORT/v1/authorize/login" "$GH_PID")"
  {
    echo "| $N | nginx \`return 200\` | $NGINX_RPS | $NGINX_P50 | $NGINX_P99 | $NGINX_CPU | $(ratio "$NGINX_RPS" "$NOOP_RPS") | 1.00× |"
    echo "| $N | Hummingbird no-op route | $NOOP_RPS | $NOOP_P50 | $NOOP_P99 | $NOOP_CPU | 1.00× | $(ratio "$NOOP_RPS" "$NGINX_RPS") |"
    echo "| $N | **gatehouse** \`POST /v1/authorize/login\` | $RPS | $P50 | $P99 | $CPU | $(ratio "$RPS" "$NOOP_RPS") | $(ratio "$RPS" "$NGINX_RPS") |"
  } >> "$RESULT"
done
{
  echo
  echo "Seats after seeding: $("$G" seats status --config "$WORK/gatehouse.yml" 2>&1 | head -1)"
  echo "Gatehouse resident memory at the end: $(awk '/VmRSS/ {print $2, $3}' /proc/$GH_PID/status)"
} >> "$RESULT"
echo
cat "$RESULT"
echo
echo "(written to $RESULT)"
