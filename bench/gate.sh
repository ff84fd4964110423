#!/usr/bin/env bash
# The gate's cost in front of Codecov: wrk through nginx to an upstream that nginx itself
# serves, three ways in one run, at each people count, with 100,000 live sessions:
#   1. no auth: nginx proxies straight to the upstream;
#   2. auth_request to an nginx location that answers 200: the physical limit of the pattern
#      (one more proxied HTTP round trip per request);
#   3. auth_request to Gatehouse's forward-auth listener (deploy/nginx/gatehouse-locations.conf
#      as shipped) with a valid session cookie: the gate deciding from memory;
# and, for scale, a bare Hummingbird route in Gatehouse's place (bench-noop answering 200 to
# /gate/auth: what the framework alone costs), asked through the same shipped locations. Then the same at light load (4 connections), where latency is not queueing.
# Figures go to stdout and bench/out/.
# Usage: bench/gate.sh [--duration SECONDS] [--people "1000 100000"] [--sessions 100000]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DURATION=10
PEOPLE_STEPS="1000 100000"
SESSIONS=100000
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION=$2; shift 2 ;;
    --people) PEOPLE_STEPS=$2; shift 2 ;;
    --sessions) SESSIONS=$2; shift 2 ;;
    *) echo "usage: bench/gate.sh [--duration SECONDS] [--people \"1000 100000\"] [--sessions 100000]" >&2; exit 2 ;;
  esac
done

. bench/lib.sh
install_missing wrk nginx python3 curl libsqlite3-dev libssl-dev libldap2-dev
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
echo "building release…"
swift build -c release --product gatehouse >/dev/null
swift build -c release --product bench-noop >/dev/null
G=$ROOT/.build/release/gatehouse
NOOP=$ROOT/.build/release/bench-noop

WORK=$(mktemp -d /tmp/gatehouse-gate-bench-XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -f "$WORK/nginx/nginx.pid" ] && kill -QUIT "$(cat "$WORK/nginx/nginx.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
wait_http() { for _ in $(seq 1 400); do curl -s -o /dev/null "$1" && return 0; sleep 0.05; done; echo "no answer from $1" >&2; exit 1; }

# --- Gatehouse: a license, a gate whose public URL is the gated nginx, no login restriction ---
cd "$WORK"
GATED_PORT=$(free_port) PLAIN_PORT=$(free_port) LIMIT_PORT=$(free_port) UP_PORT=$(free_port) OK_PORT=$(free_port)
HB_PORT=$(free_port) HB_BARE_PORT=$(free_port) NOOP_PORT=$(free_port)
GH_PORT=$(free_port) GATE_PORT=$(free_port)
bench_license "$G"
{ bench_config "$WORK/gatehouse.db"; printf 'gate:\n  public_url: http://127.0.0.1:%s\n  proxy: nginx\n' "$GATED_PORT"; } > gatehouse.yml
"$G" migrate >/dev/null
"$G" license install bench.lic >/dev/null
TOKEN=$("$G" tokens create --name bench --scope authorize 2>/dev/null)
start_serve() {
  LOG_LEVEL=warning "$G" serve --port "$GH_PORT" --egress-port 0 --gate-port "$GATE_PORT" > "$WORK/serve.log" 2>&1 &
  GH_PID=$!
  PIDS+=("$GH_PID")
  wait_http "http://127.0.0.1:$GH_PORT/healthz"
}
start_serve

# --- nginx: the upstream, the plain proxy, the nginx-authorised one, the gated one ---------
mkdir -p nginx/tmp
# The shipped locations with the no-op in Gatehouse's place.
sed -e 's#http://gatehouse_auth/#http://noopauth/#' -e 's#http://gatehouse;#http://noopauth;#' \
  "$ROOT/deploy/nginx/gatehouse-locations.conf" > nginx/noop-locations.conf
cat > nginx/nginx.conf <<NGINX
worker_processes 2;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx/tmp; proxy_temp_path $WORK/nginx/tmp; fastcgi_temp_path $WORK/nginx/tmp;
  uwsgi_temp_path $WORK/nginx/tmp; scgi_temp_path $WORK/nginx/tmp;
  upstream codecov { server 127.0.0.1:$UP_PORT; keepalive 64; }
  upstream okauth { server 127.0.0.1:$OK_PORT; keepalive 64; }
  upstream noopauth { server 127.0.0.1:$NOOP_PORT; keepalive 64; }
  upstream gatehouse { server 127.0.0.1:$GH_PORT; keepalive 64; }
  upstream gatehouse_auth { server 127.0.0.1:$GATE_PORT; keepalive 64; }
  # The stand-in for Codecov: a small page.
  server { listen 127.0.0.1:$UP_PORT; location / { default_type text/html; return 200 '<p>codecov</p>'; } }
  # The stand-in authoriser: 200 to every question.
  server { listen 127.0.0.1:$OK_PORT; location / { return 200; } }
  # 1. No auth.
  server {
    listen 127.0.0.1:$PLAIN_PORT;
    location / { proxy_pass http://codecov; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
  # 2. auth_request to nginx itself.
  server {
    listen 127.0.0.1:$LIMIT_PORT;
    location = /_auth {
      internal;
      proxy_pass http://okauth/gate/auth;
      proxy_pass_request_body off; proxy_set_header Content-Length "";
      proxy_set_header X-Original-URI \$request_uri;
      proxy_http_version 1.1; proxy_set_header Connection "";
    }
    location / {
      auth_request /_auth;
      proxy_pass http://codecov; proxy_http_version 1.1; proxy_set_header Connection "";
    }
  }
  # For scale: a bare Hummingbird route as the authoriser, asked through the same shipped
  # locations as Gatehouse (so that nginx does the same work in both rows).
  server {
    listen 127.0.0.1:$HB_PORT;
    include $WORK/nginx/noop-locations.conf;
  }
  # The row of earlier runs: the no-op asked bare (no forwarded headers, a minimal location).
  server {
    listen 127.0.0.1:$HB_BARE_PORT;
    location = /_auth {
      internal;
      proxy_pass http://noopauth/healthz;
      proxy_pass_request_body off; proxy_set_header Content-Length "";
      proxy_http_version 1.1; proxy_set_header Connection "";
    }
    location / {
      auth_request /_auth;
      proxy_pass http://codecov; proxy_http_version 1.1; proxy_set_header Connection "";
    }
  }
  # 3. The gate, as shipped.
  server {
    listen 127.0.0.1:$GATED_PORT;
    include $ROOT/deploy/nginx/gatehouse-locations.conf;
  }
}
NGINX
"$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' &
PIDS+=($!)
"$NOOP" "$NOOP_PORT" > /dev/null 2>&1 &
NOOP_PID=$!
PIDS+=("$NOOP_PID")
wait_http "http://127.0.0.1:$NOOP_PORT/healthz"
wait_http "http://127.0.0.1:$PLAIN_PORT/"
NGINX_PIDS=$(pgrep -f "nginx: worker" | tr '\n' ' ')

OUT=$ROOT/bench/out
mkdir -p "$OUT"
RESULT=$OUT/gate-$(date -u +%Y%m%dT%H%M%SZ).md
HZ=$(getconf CLK_TCK)
cpu_ticks() { local t=0; for p in "$@"; do t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat"))); done; echo $t; }
# wrk against one URL (CONNECTIONS, default 64); "rps p50 p99 cpu_us_per_request errors" (CPU of the pids given).
run_wrk() {
  local name=$1 url=$2; shift 2
  local before after threads=2
  [ "${CONNECTIONS:-64}" -lt 2 ] && threads=1
  local last=${!#} auth_before auth_after
  before=$(cpu_ticks "$@")
  auth_before=$(cpu_ticks "$last")
  COOKIES=$WORK/cookies.txt wrk -t$threads -c"${CONNECTIONS:-64}" -d"${DURATION}s" --latency -s "$ROOT/bench/gate.lua" "$url" > "$WORK/wrk-$name.txt"
  after=$(cpu_ticks "$@")
  auth_after=$(cpu_ticks "$last")
  python3 - "$HZ" "$((after - before))" "$WORK/wrk-$name.txt" "$((auth_after - auth_before))" <<'PY'
import re, sys
hz, ticks, path, auth_ticks = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
out = open(path).read()
def ms(text):
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
reqs = int(re.search(r"(\d+) requests in", out).group(1))
errors = 0
for pattern in (r"Non-2xx or 3xx responses: (\d+)", r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"):
    m = re.search(pattern, out)
    if m: errors += sum(int(g) for g in m.groups())
p50 = ms(re.search(r"\s50%\s+(\S+)", out).group(1))
p99 = ms(re.search(r"\s99%\s+(\S+)", out).group(1))
print(f"{rps:.0f} {p50:.2f} {p99:.2f} {ticks / hz * 1e6 / max(reqs, 1):.0f} {errors} {auth_ticks / hz * 1e6 / max(reqs, 1):.0f}")
PY
}

{
  echo "# bench/gate.sh — $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo
  echo "Machine: $(nproc) cores ($(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2}')), $(free -g | awk '/Mem:/ {print $2}') GiB; $(swift --version 2>&1 | head -1); $("$NGINX" -v 2>&1)."
  echo "Load: wrk -t2 -c64 -d${DURATION}s --latency, keep-alive, GET /gh/acme/api/pulls with a random one of 1,000 session cookies (bench/gate.lua), all targets through one nginx (2 workers) on the same machine."
  echo "Sessions: $SESSIONS live (bench/sessions.py), spread over the people; people seeded through the API."
  echo "CPU: user+system time per request of nginx's workers, plus Gatehouse's (or bench-noop's) for their rows; the authoriser's own apart."
  echo
  echo "| people | target | requests/s | p50 ms | p99 ms | CPU µs/request | of it the authoriser's | vs nginx-authorised | p99 added |"
  echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
} > "$RESULT"

SEEDED=0
for N in $PEOPLE_STEPS; do
  echo "seeding people $SEEDED…$N through the API…"
  python3 "$ROOT/bench/seed.py" "http://127.0.0.1:$GH_PORT" "$TOKEN" "$SEEDED" "$N"
  SEEDED=$N
  sleep 6   # last-seen times flushed
  echo "writing $SESSIONS sessions and restarting gatehouse to load them…"
  kill "$GH_PID"; wait "$GH_PID" 2>/dev/null || true
  python3 "$ROOT/bench/sessions.py" "$WORK/gatehouse.db" "$N" "$SESSIONS" 1000 > "$WORK/cookies.txt"
  start_serve
  RSS=$(awk '/VmRSS/ {print $2}' "/proc/$GH_PID/status")
  # Every cookie is valid: the gate answers 200 through nginx.
  test "$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $(head -1 "$WORK/cookies.txt")" "http://127.0.0.1:$GATED_PORT/gh/acme/api/pulls")" = 200
  read -r P_RPS P_50 P_99 P_CPU P_ERR <<< "$(run_wrk "plain-$N" "http://127.0.0.1:$PLAIN_PORT/gh/acme/api/pulls" $NGINX_PIDS)"
  read -r L_RPS L_50 L_99 L_CPU L_ERR <<< "$(run_wrk "limit-$N" "http://127.0.0.1:$LIMIT_PORT/gh/acme/api/pulls" $NGINX_PIDS)"
  read -r G_RPS G_50 G_99 G_CPU G_ERR G_AUTH <<< "$(run_wrk "gated-$N" "http://127.0.0.1:$GATED_PORT/gh/acme/api/pulls" $NGINX_PIDS "$GH_PID")"
  read -r H_RPS H_50 H_99 H_CPU H_ERR H_AUTH <<< "$(run_wrk "hb-$N" "http://127.0.0.1:$HB_PORT/gh/acme/api/pulls" $NGINX_PIDS "$NOOP_PID")"
  read -r HB_RPS HB_50 HB_99 HB_CPU HB_ERR HB_AUTH <<< "$(run_wrk "hb-bare-$N" "http://127.0.0.1:$HB_BARE_PORT/gh/acme/api/pulls" $NGINX_PIDS "$NOOP_PID")"
  # Light load: latency without queueing.
  read -r LL_RPS LL_50 LL_99 LL_CPU LL_ERR <<< "$(CONNECTIONS=4 run_wrk "light-limit-$N" "http://127.0.0.1:$LIMIT_PORT/gh/acme/api/pulls" $NGINX_PIDS)"
  read -r LG_RPS LG_50 LG_99 LG_CPU LG_ERR LG_AUTH <<< "$(CONNECTIONS=4 run_wrk "light-gated-$N" "http://127.0.0.1:$GATED_PORT/gh/acme/api/pulls" $NGINX_PIDS "$GH_PID")"
  for e in "$P_ERR" "$L_ERR" "$G_ERR" "$H_ERR" "$HB_ERR" "$LL_ERR" "$LG_ERR"; do [ "$e" = 0 ] || echo "  errors or non-2xx answers: $e" >&2; done
  ratio() { python3 -c "print(f'{$1/$2:.2f}×')"; }
  added() { python3 -c "print(f'{$1-$2:+.2f}')"; }
  {
    echo "| $N | nginx, no auth | $P_RPS | $P_50 | $P_99 | $P_CPU | | $(ratio "$P_RPS" "$L_RPS") | |"
    echo "| $N | nginx auth_request → nginx 200 | $L_RPS | $L_50 | $L_99 | $L_CPU | | 1.00× | |"
    echo "| $N | nginx auth_request → **gatehouse** | $G_RPS | $G_50 | $G_99 | $G_CPU | $G_AUTH | **$(ratio "$G_RPS" "$L_RPS")** | $(added "$G_99" "$L_99") |"
    echo "| $N | nginx auth_request → Hummingbird no-op route in Gatehouse's place (the same locations) | $H_RPS | $H_50 | $H_99 | $H_CPU | $H_AUTH | $(ratio "$H_RPS" "$L_RPS") | $(added "$H_99" "$L_99") |"
    echo "| $N | nginx auth_request → Hummingbird no-op route, bare location (earlier runs' row) | $HB_RPS | $HB_50 | $HB_99 | $HB_CPU | $HB_AUTH | $(ratio "$HB_RPS" "$L_RPS") | $(added "$HB_99" "$L_99") |"
    echo "| $N | light load (4 connections): nginx auth_request → nginx 200 | $LL_RPS | $LL_50 | $LL_99 | $LL_CPU | | | |"
    echo "| $N | light load (4 connections): nginx auth_request → **gatehouse** | $LG_RPS | $LG_50 | $LG_99 | $LG_CPU | $LG_AUTH | | **$(added "$LG_99" "$LL_99")** |"
  } >> "$RESULT"
  echo "  $N people: gatehouse answers $(ratio "$G_RPS" "$H_RPS") the requests/s of the no-op route in its place, p99 $(added "$G_99" "$H_99") ms" | tee -a "$WORK/notes.txt"
  echo "  gatehouse resident memory with $N people and $SESSIONS sessions: $((RSS / 1024)) MB" | tee -a "$WORK/notes.txt"
done
{ echo; cat "$WORK/notes.txt"; } >> "$RESULT"
cat "$RESULT"
echo
echo "(written to $RESULT)"
