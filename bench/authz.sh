#!/usr/bin/env bash
# Decision throughput of `gatehouse serve` beside two baselines, on this machine:
#   nginx returning a constant JSON body, and a bare Hummingbird route (bench-noop).
# Realistic policy (org + team restriction, deny list), 1,000 / 10,000 / 100,000 people
# seeded by first logins in bulk (bench/seed-people); wrk with a Lua script sending varied login decisions over
# keep-alive, 2 threads, 64 connections. Figures go to stdout and bench/out/.
#
# --database postgres adds, in the same run, Gatehouse on a throwaway PostgreSQL cluster with
# one replica and with two replicas (two `serve` processes on one database, the load split
# between them), beside Gatehouse on SQLite; and a write measurement: first logins, each
# activating a seat, on every engine and replica count.
# Usage: bench/authz.sh [--database sqlite|postgres] [--duration SECONDS] [--people "1000 10000 100000"]
# HTTP_THREADS=N in the environment sets the servers' http.threads (default: four per core).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DURATION=10
PEOPLE_STEPS=""
DATABASE=sqlite
usage() { echo "usage: bench/authz.sh [--database sqlite|postgres] [--duration SECONDS] [--people \"1000 10000\"]" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION=$2; shift 2 ;;
    --people) PEOPLE_STEPS=$2; shift 2 ;;
    --database) DATABASE=$2; shift 2 ;;
    *) usage ;;
  esac
done
case "$DATABASE" in
  sqlite) PEOPLE_STEPS=${PEOPLE_STEPS:-"1000 10000 100000"} ;;
  # Seeding and catching up run on two databases: the default stops at 10,000 people (--people for more).
  postgres) PEOPLE_STEPS=${PEOPLE_STEPS:-"1000 10000"} ;;
  *) usage ;;
esac

. bench/lib.sh
PACKAGES="wrk nginx-light python3 curl libsqlite3-dev libssl-dev libldap2-dev"
[ "$DATABASE" = postgres ] && PACKAGES="$PACKAGES postgresql postgresql-client"
install_missing $PACKAGES
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

echo "building release…"
swift build -c release >/dev/null
G=$ROOT/.build/release/gatehouse
NOOP=$ROOT/.build/release/bench-noop

WORK=$(mktemp -d /tmp/gatehouse-bench-XXXXXX)
PIDS=()
PG_DATA=""
PG_AS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -f "$WORK/nginx/nginx.pid" ] && kill -QUIT "$(cat "$WORK/nginx/nginx.pid")" 2>/dev/null || true
  [ -n "$PG_DATA" ] && "${PG_AS[@]}" "$PG_BIN/pg_ctl" stop -m immediate -D "$PG_DATA" >/dev/null 2>&1 || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
wait_http() { for _ in $(seq 1 2400); do curl -s -o /dev/null "$1" && return 0; sleep 0.05; done; echo "no answer from $1" >&2; exit 1; }

# --- What every Gatehouse instance shares: a vendor key, a license, the policies ----------
cd "$WORK"
# Enough seats for the people seeded and every first login the write measurement makes.
bench_license "$G"
cat > gatehouse.yml <<YAML
instance_url: https://codecov.bench.internal
license:
  public_keys:
    - {kid: bench, pem_file: vendor.pub.pem}
${HTTP_THREADS:+http: {threads: $HTTP_THREADS\}}
YAML
bench_decision_policies "$ROOT"

# Prepares a database (migrate, license, policies) and prints an authorize token for it.
prepare_database() {  # database-url
  "$G" migrate --database "$1" >/dev/null
  "$G" license install bench.lic --database "$1" >/dev/null
  "$G" policy apply policies --database "$1" >/dev/null
  "$G" tokens create --name bench --scope authorize --database "$1" 2>/dev/null
}
# Starts `gatehouse serve` on a free port; sets SERVE_PORT and SERVE_PID.
start_serve() {  # name database-url
  SERVE_PORT=$(free_port)
  LOG_LEVEL=warning "$G" serve --database "$2" --port "$SERVE_PORT" --egress-port 0 > "$WORK/serve-$1.log" 2>&1 &
  SERVE_PID=$!
  PIDS+=("$SERVE_PID")
  wait_http "http://127.0.0.1:$SERVE_PORT/healthz"
}

SQLITE_URL=sqlite:$WORK/gatehouse.db
TOKEN=$(prepare_database "$SQLITE_URL")
start_serve sqlite "$SQLITE_URL"
GH_PORT=$SERVE_PORT GH_PID=$SERVE_PID

# --- A throwaway PostgreSQL cluster and two replicas on one database ----------------------
if [ "$DATABASE" = postgres ]; then
  PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  mkdir "$WORK/pg"
  if [ "$(id -u)" = 0 ]; then PG_AS=(runuser -u postgres --); chown postgres: "$WORK/pg"; chmod 755 "$WORK"; fi
  PG_DATA=$WORK/pg/data
  PG_PORT=$(free_port)
  "${PG_AS[@]}" "$PG_BIN/initdb" -D "$PG_DATA" -U gatehouse --auth=trust -E UTF8 --no-locale >/dev/null
  # The server's defaults otherwise (fsync and synchronous_commit on): as durable as SQLite's.
  "${PG_AS[@]}" "$PG_BIN/pg_ctl" start -w -D "$PG_DATA" -l "$WORK/pg/log" \
    -o "-p $PG_PORT -h 127.0.0.1 -k $WORK/pg -c max_connections=200 -c shared_buffers=256MB" >/dev/null
  psql -q -h 127.0.0.1 -p "$PG_PORT" -U gatehouse -d postgres -c "CREATE DATABASE bench"
  PG_URL="postgres://gatehouse@127.0.0.1:$PG_PORT/bench?sslmode=disable"
  PG_TOKEN=$(prepare_database "$PG_URL")
  start_serve pg-a "$PG_URL"
  PGA_PORT=$SERVE_PORT PGA_PID=$SERVE_PID
  start_serve pg-b "$PG_URL"
  PGB_PORT=$SERVE_PORT PGB_PID=$SERVE_PID
  PG_VERSION=$("$PG_BIN/postgres" --version)
fi

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
NOOP_PID=$!
PIDS+=("$NOOP_PID")
wait_http "http://127.0.0.1:$NGINX_PORT/"
wait_http "http://127.0.0.1:$NOOP_PORT/healthz"

# --- Measure ---------------------------------------------------------------------------------
OUT=$ROOT/bench/out
mkdir -p "$OUT"
RESULT=$OUT/authz-$DATABASE-$(date -u +%Y%m%dT%H%M%SZ).md
HZ=$(getconf CLK_TCK)
cpu_ticks() { local t=0; for p in "$@"; do t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat"))); done; echo $t; }
# Runs wrk against one URL (2 threads, 64 connections) or several at once (the threads and
# connections split between them), with SCRIPT and its environment.
#   run_wrk name "url…" pid… → "rps p50 p99 cpu_us_per_request errors"
# Requests are summed; p50/p99 are the worst of the wrk processes; CPU is that of the pids
# (the servers measured; PostgreSQL's own processes are not counted).
run_wrk() {
  local name=$1 urls=($2); shift 2
  local n=${#urls[@]} before after i loaders=()
  before=$(cpu_ticks "$@")
  for i in "${!urls[@]}"; do
    PREFIX="$name-$i" TOKEN=$TOKEN PEOPLE=${PEOPLE:-1000} \
      wrk -t$((2 / n)) -c$((64 / n)) -d"${DURATION}s" --latency -s "$ROOT/bench/${SCRIPT:-authz.lua}" "${urls[$i]}" \
      > "$WORK/wrk-$name-$i.txt" &
    loaders+=($!)
  done
  wait "${loaders[@]}"
  after=$(cpu_ticks "$@")
  python3 - "$HZ" "$((after - before))" "$WORK"/wrk-"$name"-*.txt <<'PY'
import re, sys
hz, ticks, files = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
rps = reqs = errors = 0
p50 = p99 = 0.0
def ms(text):
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
for path in files:
    out = open(path).read()
    rps += float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    reqs += int(re.search(r"(\d+) requests in", out).group(1))
    p50 = max(p50, ms(re.search(r"\s50%\s+(\S+)", out).group(1)))
    p99 = max(p99, ms(re.search(r"\s99%\s+(\S+)", out).group(1)))
    for pattern in (r"Non-2xx or 3xx responses: (\d+)", r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"):
        m = re.search(pattern, out)
        if m: errors += sum(int(g) for g in m.groups())
print(f"{rps:.0f} {p50:.2f}ms {p99:.2f}ms {ticks / hz * 1e6 / max(reqs, 1):.0f} {errors}")
PY
}
ratio() { python3 -c "print(f'{$1/$2:.2f}×')"; }
NGINX_PIDS=$(pgrep -f "nginx: worker" | tr '\n' ' ')
# One row of the table: measures a target and appends it, with its ratios.
measure() {  # label name "url…" pid…
  local label=$1 name=$2 urls=$3; shift 3
  local rps p50 p99 cpu errors
  read -r rps p50 p99 cpu errors <<< "$(run_wrk "$name" "$urls" "$@")"
  [ "$errors" != 0 ] && echo "  $label: $errors errors or non-2xx answers" >&2
  ROW_RPS=$rps
  echo "| $N | $label | $rps | $p50 | $p99 | $cpu | $(ratio "$rps" "${NOOP_RPS:-$rps}") | $(ratio "$rps" "${NGINX_RPS:-$rps}") |" >> "$RESULT"
}
seed() {  # database-url first end → people per second
  # First logins in bulk through the service's rules and the store's bulk activation
  # (bench/seed-people), one transaction per 5,000 people, while the servers run.
  "$ROOT/.build/release/bench-seed-people" "$WORK/gatehouse.yml" "$1" "$2" "$3"
}
# Seconds from now until the server on `port` knows u<i> (at most 10 minutes; bench/known.py).
seconds_until_known() {  # port i
  local started; started=$(date +%s.%N)
  "$ROOT/bench/known.py" "$1" "$TOKEN" "$2" 600 || { echo "the server on port $1 never learned u$2" >&2; exit 1; }
  python3 -c "print(f'{$(date +%s.%N) - $started:.2f}')"
}
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
# A replica started afresh on the database: seconds until it answers for u<i>, and its RSS then.
fresh_load() {  # name database-url i → "seconds rss_kb"
  local started seconds rss
  started=$(date +%s.%N)
  start_serve "$1" "$2"
  if [ "$3" -ge 0 ]; then seconds_until_known "$SERVE_PORT" "$3" >/dev/null; else sleep 1; fi
  seconds=$(python3 -c "print(f'{$(date +%s.%N) - $started:.2f}')")
  rss=$(rss_kb "$SERVE_PID")
  kill "$SERVE_PID"; wait "$SERVE_PID" 2>/dev/null || true
  echo "$seconds $rss"
}

{
  echo "# bench/authz.sh --database $DATABASE — $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo
  echo "Machine: $(nproc) cores ($(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2}')), $(free -g | awk '/Mem:/ {print $2}') GiB; $(swift --version 2>&1 | head -1)."
  [ "$DATABASE" = postgres ] && echo "PostgreSQL: $PG_VERSION, a throwaway cluster on loopback (fsync and synchronous_commit on, shared_buffers 256MB); SQLite: the file in WAL mode."
  echo "Load: wrk -t2 -c64 -d${DURATION}s --latency, keep-alive, the same Lua script (bench/authz.lua) for every target, on the same machine as the servers."
  echo "Two replicas: two wrk processes at once (-t1 -c32 each), one per replica; requests/s summed, latency the worse of the two."
  echo "Each step measures every target back to back, so ratios compare one window of this (shared, noisy) machine."
  echo "CPU is the server processes' user+system time per request (nginx: its workers; not PostgreSQL's)."
  echo
  echo "| people | target | requests/s | p50 | p99 | CPU µs/request | vs no-op (req/s) | vs nginx (req/s) |"
  echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
} > "$RESULT"

SEEDED=0
SEED_RATES=""
LOADS=""
read -r _ RSS0 <<< "$(fresh_load empty "$SQLITE_URL" -1)"
for N in $PEOPLE_STEPS; do
  echo "seeding people $SEEDED…$N (bench/seed-people)…"
  RATE=$(seed "$SQLITE_URL" "$SEEDED" "$N")
  CATCHUP=$(seconds_until_known "$GH_PORT" $((N - 1)))
  # Then one more first login by another process: how soon the serving replica sees one change.
  seed "$SQLITE_URL" "$N" $((N + 1)) >/dev/null 2>&1
  ONE=$(seconds_until_known "$GH_PORT" "$N")
  SEED_RATES="$SEED_RATES| $SEEDED→$N | SQLite | $RATE | $CATCHUP s | $ONE s |"$'\n'
  if [ "$DATABASE" = postgres ]; then
    RATE=$(seed "$PG_URL" "$SEEDED" "$N")
    seed "$PG_URL" "$N" $((N + 1)) >/dev/null 2>&1   # the same people as SQLite
    TOKEN_SQLITE=$TOKEN TOKEN=$PG_TOKEN
    CATCHUP="A $(seconds_until_known "$PGA_PORT" $((N - 1))) s, B $(seconds_until_known "$PGB_PORT" $((N - 1))) s"
    TOKEN=$TOKEN_SQLITE
    SEED_RATES="$SEED_RATES| $SEEDED→$N | PostgreSQL | $RATE | $CATCHUP | |"$'\n'
  fi
  SEEDED=$((N + 1))
  read -r LOAD_S LOAD_RSS <<< "$(fresh_load "load-$N" "$SQLITE_URL" "$N")"
  LOADS="$LOADS| $N | $LOAD_S s | $((LOAD_RSS / 1024)) MB | $(( (LOAD_RSS - RSS0) * 1024 / N )) B |"$'\n'
  sleep 2   # let the bookkeeping flush and the other replica's reload settle
  echo "measuring with $N people…"
  export PEOPLE=$N
  unset NOOP_RPS NGINX_RPS
  measure "nginx \`return 200\`" "nginx-$N" "http://127.0.0.1:$NGINX_PORT/v1/authorize/login" $NGINX_PIDS
  NGINX_RPS=$ROW_RPS
  measure "Hummingbird no-op route" "noop-$N" "http://127.0.0.1:$NOOP_PORT/v1/authorize/login" "$NOOP_PID"
  NOOP_RPS=$ROW_RPS
  measure "**gatehouse** SQLite" "sqlite-$N" "http://127.0.0.1:$GH_PORT/v1/authorize/login" "$GH_PID"
  if [ "$DATABASE" = postgres ]; then
    TOKEN_SQLITE=$TOKEN TOKEN=$PG_TOKEN
    measure "**gatehouse** PostgreSQL, 1 replica" "pg1-$N" "http://127.0.0.1:$PGA_PORT/v1/authorize/login" "$PGA_PID"
    measure "**gatehouse** PostgreSQL, 2 replicas" "pg2-$N" \
      "http://127.0.0.1:$PGA_PORT/v1/authorize/login http://127.0.0.1:$PGB_PORT/v1/authorize/login" "$PGA_PID" "$PGB_PID"
    TOKEN=$TOKEN_SQLITE
  fi
done

{
  echo
  echo "Seeding (bench/seed-people: first logins in bulk through the service's rules, 5,000 per transaction, while"
  echo "the servers run), how long after it the running servers answered for the last person seeded, and how long"
  echo "after one more first login (written by another process) the SQLite server answered for that person:"
  echo
  echo "| people | database | people/s | serving replica caught up after | one more seen after |"
  echo "| ---: | --- | ---: | ---: | ---: |"
  printf "%s" "$SEED_RATES"
  echo
  echo "A replica started afresh on the SQLite database: from start to answering for the last person seeded, and"
  echo "its resident memory then (per person: minus the $((RSS0 / 1024)) MB of a replica with no people):"
  echo
  echo "| people | load | RSS | per person |"
  echo "| ---: | ---: | ---: | ---: |"
  printf "%s" "$LOADS"
} >> "$RESULT"

# --- Writes: first logins, each activating a seat ------------------------------------------
if [ "$DATABASE" = postgres ]; then
  echo "measuring first logins (seat activations)…"
  {
    echo
    echo "First logins (bench/first-login.lua: every request a person never seen, in the allowed org and team, so every"
    echo "request writes a person, an identity, a seat and two memberships with four audit entries, in one write transaction):"
    echo
    echo "| people | target | requests/s | p50 | p99 | CPU µs/request | vs SQLite | vs nginx (req/s) |"
    echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
  } >> "$RESULT"
  export SCRIPT=first-login.lua
  unset NOOP_RPS
  measure "**gatehouse** SQLite" "first-sqlite" "http://127.0.0.1:$GH_PORT/v1/authorize/login" "$GH_PID"
  NOOP_RPS=$ROW_RPS   # the "vs" column of this table is SQLite
  TOKEN=$PG_TOKEN
  measure "**gatehouse** PostgreSQL, 1 replica" "first-pg1" "http://127.0.0.1:$PGA_PORT/v1/authorize/login" "$PGA_PID"
  measure "**gatehouse** PostgreSQL, 2 replicas" "first-pg2" \
    "http://127.0.0.1:$PGA_PORT/v1/authorize/login http://127.0.0.1:$PGB_PORT/v1/authorize/login" "$PGA_PID" "$PGB_PID"
  sleep 2
  # Both replicas and the database agree on the seats: nothing lost, nothing granted twice.
  {
    echo
    echo "Seats afterwards: SQLite $("$G" seats status --database "$SQLITE_URL" 2>&1 | head -1); PostgreSQL $("$G" seats status --database "$PG_URL" 2>&1 | head -1)."
    echo "Audit chain on PostgreSQL: $("$G" audit verify --database "$PG_URL" 2>&1 | head -1)"
  } >> "$RESULT"
fi
{
  echo
  echo "Resident memory at the end: SQLite $(awk '/VmRSS/ {print $2, $3}' /proc/$GH_PID/status)"
  if [ "$DATABASE" = postgres ]; then
    echo "; PostgreSQL replicas $(awk '/VmRSS/ {print $2, $3}' /proc/$PGA_PID/status) and $(awk '/VmRSS/ {print $2, $3}' /proc/$PGB_PID/status)"
  fi
} >> "$RESULT"
echo
cat "$RESULT"
echo
echo "(written to $RESULT)"
