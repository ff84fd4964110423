#!/usr/bin/env bash
# Where a login decision's time goes: `gatehouse serve` with PEOPLE people seeded through the
# API, and the bare Hummingbird route (bench-noop) beside it, each driven by wrk with
# bench/authz.lua for DURATION seconds while `perf record` samples the server (software clock:
# this VM offers no hardware counters, and valgrind 3.19 cannot run these Swift binaries).
# Prints the server's CPU time per request for both (from /proc, steadier here than
# requests/s) and gatehouse's costliest functions, self and inclusive; keeps perf data in
# bench/out/.
# Usage: bench/profile-decisions.sh [--people 10000] [--duration 10]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PEOPLE=10000 DURATION=10
while [ $# -gt 0 ]; do
  case "$1" in
    --people) PEOPLE=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    *) echo "usage: bench/profile-decisions.sh [--people N] [--duration S]" >&2; exit 2 ;;
  esac
done
. bench/lib.sh
install_missing linux-perf wrk python3 curl libsqlite3-dev libssl-dev libldap2-dev
echo "building release…"
swift build -c release --product gatehouse >/dev/null
swift build -c release --product bench-noop >/dev/null
G=$ROOT/.build/release/gatehouse NOOP=$ROOT/.build/release/bench-noop
OUT=$ROOT/bench/out; mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/gatehouse-profile-XXXXXX)
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
wait_http() { for _ in $(seq 1 1200); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }

cd "$WORK"
bench_license "$G"
bench_config "$WORK/gatehouse.db" > gatehouse.yml
bench_decision_policies "$ROOT"
"$G" migrate >/dev/null; "$G" license install bench.lic >/dev/null; "$G" policy apply policies >/dev/null
TOKEN=$("$G" tokens create --name bench --scope authorize 2>/dev/null)
PORT=$(free_port)
LOG_LEVEL=warning "$G" serve --port "$PORT" --egress-port 0 --gate-port 0 > serve.log 2>&1 & PID=$!
wait_http "http://127.0.0.1:$PORT/healthz"
echo "seeding $PEOPLE people through the API…"
python3 "$ROOT/bench/seed.py" "http://127.0.0.1:$PORT" "$TOKEN" 0 "$PEOPLE"
kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""

HZ=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# profile NAME CMD…: starts CMD, loads it with wrk under perf for DURATION s; prints "rps cpu_us_per_request".
profile() {
  local name=$1; shift
  "$@" > "$WORK/$name.log" 2>&1 & PID=$!
  wait_http "http://127.0.0.1:$PORT/healthz"
  PEOPLE=$PEOPLE TOKEN=$TOKEN wrk -t2 -c64 -d2s -s "$ROOT/bench/authz.lua" "http://127.0.0.1:$PORT/v1/authorize/login" >/dev/null  # warm
  local before; before=$(cpu_ticks "$PID")
  perf record -F 999 -g -p "$PID" -o "$OUT/perf.$name.data" -- sleep "$DURATION" >/dev/null 2>&1 &
  local perf_pid=$!
  PEOPLE=$PEOPLE TOKEN=$TOKEN wrk -t2 -c64 -d"${DURATION}s" -s "$ROOT/bench/authz.lua" "http://127.0.0.1:$PORT/v1/authorize/login" > "$WORK/wrk-$name.txt"
  local after; after=$(cpu_ticks "$PID")
  wait "$perf_pid" || true
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
  python3 - "$WORK/wrk-$name.txt" "$((after - before))" "$HZ" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
requests = int(re.search(r"(\d+) requests in", text).group(1))
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
print(f"{rps:.0f} {int(sys.argv[2]) / int(sys.argv[3]) * 1e6 / requests:.1f}")
PY
}
PORT=$(free_port)
echo "the no-op route under load…"
read -r NOOP_RPS NOOP_CPU <<< "$(profile noop "$NOOP" "$PORT")"
echo "gatehouse with $PEOPLE people under load…"
read -r GH_RPS GH_CPU <<< "$(LOG_LEVEL=warning profile gatehouse "$G" serve --port "$PORT" --egress-port 0 --gate-port 0)"
echo
printf '%-34s %10s %16s\n' "" "requests/s" "CPU µs/request"
printf '%-34s %10s %16s\n' "Hummingbird no-op route" "$NOOP_RPS" "$NOOP_CPU"
printf '%-34s %10s %16s\n' "gatehouse, $PEOPLE people" "$GH_RPS" "$GH_CPU"
python3 -c "print(f'ratio {float($GH_RPS)/float($NOOP_RPS):.2f}x requests/s; {float($GH_CPU)-float($NOOP_CPU):.1f} µs more CPU per decision')"
for name in noop gatehouse; do
  echo
  echo "$name: where the server's CPU goes (self, top 25):"
  { perf report -i "$OUT/perf.$name.data" --no-children --sort dso,symbol --stdio 2>/dev/null || true; } | grep -E "^ +[0-9]" | sed -n 1,25p | cut -c1-160
done
echo
echo "gatehouse: inclusive, gatehouse's own functions (top 30):"
{ perf report -i "$OUT/perf.gatehouse.data" --children --sort symbol --stdio 2>/dev/null || true; } | grep -E "^ +[0-9]" \
  | grep -E "Gatehouse|gatehouse|Hummingbird|NIO" | sed -n 1,30p | cut -c1-200 | swift demangle --simplified
