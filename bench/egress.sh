#!/usr/bin/env bash
# The egress proxy beside squid and a direct connection, on this machine, all on loopback:
#   upstream   nginx serving a small response (/small) and a 1 GiB file (/big, sendfile)
#   direct     the client talks to nginx itself (the ceiling)
#   gatehouse  `gatehouse serve` (release) with an egress policy allowing 127.0.0.1/32
#   squid      Debian's squid with the equivalent ACL (CONNECT and plain HTTP to 127.0.0.1:PORT)
# Measures new CONNECT tunnels per second (bench/connect-rate.c: connect, CONNECT, GET /small,
# read to EOF, close, by THREADS threads for SECONDS) and the download rate of /big through a
# CONNECT tunnel (curl -p -x) and as a plain HTTP request (curl -x). Median of RUNS runs each;
# the proxies' peak resident memory is read from /proc after the transfers.
# Usage: bench/egress.sh [--runs 3] [--seconds 5] [--threads 16]
# EGRESS_THREADS=N in the environment sets the proxy's egress_proxy.threads (default 1).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUNS=3 SECONDS_EACH=5 THREADS=16
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS=$2; shift 2 ;;
    --seconds) SECONDS_EACH=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    *) echo "usage: bench/egress.sh [--runs N] [--seconds N] [--threads N]" >&2; exit 2 ;;
  esac
done

. bench/lib.sh
install_missing nginx squid curl gcc libc6-dev python3 libsqlite3-dev libssl-dev libldap2-dev

echo "building release…"
swift build -c release --product gatehouse >/dev/null
G=$ROOT/.build/release/gatehouse

WORK=$(mktemp -d /tmp/gatehouse-egressbench-XXXXXX)
chmod 777 "$WORK"   # squid drops to its own user and writes its logs here
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

wait_port() { for _ in $(seq 1 200); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.05; done; echo "nothing listening on $1" >&2; exit 1; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

gcc -O2 -pthread -o "$WORK/connect-rate" bench/connect-rate.c

# Upstream: nginx.
NG=$(free_port)
mkdir -p "$WORK/nginx/www"
echo '{"ok":true}' >"$WORK/nginx/www/small"
truncate -s 1G "$WORK/nginx/www/big"
cat >"$WORK/nginx/nginx.conf" <<CONF
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  keepalive_requests 100000;
  client_body_temp_path $WORK/nginx/body; proxy_temp_path $WORK/nginx/proxy; fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi; scgi_temp_path $WORK/nginx/scgi;
  server { listen 127.0.0.1:$NG; root $WORK/nginx/www; }
}
CONF
nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' &
PIDS+=($!)
wait_port "$NG"

# Gatehouse: a database, an egress policy that allows the upstream's network, serve.
GP=$(free_port) API=$(free_port)
mkdir -p "$WORK/gh/policies"
cat >"$WORK/gh/policies/egress.yml" <<YML
egress:
  mode: enforce
  allow_cidrs: ["127.0.0.1/32"]
  rules: []
YML
cat >"$WORK/gh/gatehouse.yml" <<YML
database: sqlite:$WORK/gh/gatehouse.db
listen: {host: 127.0.0.1, port: $API, egress_port: $GP}
egress_proxy: {max_connections: 4096, threads: ${EGRESS_THREADS:-1}}
YML
(cd "$WORK/gh" && "$G" migrate >/dev/null && "$G" policy apply policies >/dev/null)
(cd "$WORK/gh" && exec "$G" serve >"$WORK/gh/serve.log" 2>&1) &
GPID=$!
PIDS+=($GPID)
wait_port "$GP"

# squid: the equivalent allowlist.
SQ=$(free_port)
cat >"$WORK/squid.conf" <<CONF
http_port 127.0.0.1:$SQ
pid_filename $WORK/squid.pid
cache_log $WORK/squid-cache.log
access_log none
cache deny all
cache_mem 8 MB
coredump_dir $WORK
max_filedescriptors 8192
acl upstream dst 127.0.0.1/32
acl upstream_port port $NG
http_access allow upstream upstream_port
http_access deny all
CONF
squid -N -f "$WORK/squid.conf" &
SQPID=$!
PIDS+=($SQPID)
wait_port "$SQ"

# Both proxies answer before measuring (and the policy is in force).
curl -fsS -p -x "http://127.0.0.1:$GP" "http://127.0.0.1:$NG/small" >/dev/null
curl -fsS -p -x "http://127.0.0.1:$SQ" "http://127.0.0.1:$NG/small" >/dev/null
if curl -s -o /dev/null -w '%{http_code}' -x "http://127.0.0.1:$GP" "http://10.0.0.1/" | grep -q 403; then :; else echo "gatehouse did not refuse a private address" >&2; exit 1; fi

rate() { for _ in $(seq "$RUNS"); do "$WORK/connect-rate" "$1" "$NG" "$THREADS" "$SECONDS_EACH"; sleep 1; done | median; }
bulk() { for _ in $(seq "$RUNS"); do curl -fsS -o /dev/null -w '%{speed_download}\n' "$@" "http://127.0.0.1:$NG/big"; done | median; }

echo "tunnels per second ($THREADS threads, ${SECONDS_EACH}s, median of $RUNS)…"
R_DIRECT=$(rate 0); R_GH=$(rate "$GP"); R_SQ=$(rate "$SQ")
echo "1 GiB downloads (median of $RUNS)…"
B_DIRECT=$(bulk); B_GH=$(bulk -p -x "http://127.0.0.1:$GP"); B_SQ=$(bulk -p -x "http://127.0.0.1:$SQ")
B_GH_HTTP=$(bulk -x "http://127.0.0.1:$GP"); B_SQ_HTTP=$(bulk -x "http://127.0.0.1:$SQ")
hwm() { awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }
# squid's worker is the child of the -N process on some builds; take the largest.
SQ_HWM=$(for p in $SQPID $(pgrep -P "$SQPID" || true); do hwm "$p"; echo; done | sort -g | tail -1)

OUT=$ROOT/bench/out
mkdir -p "$OUT"
RESULT=$OUT/egress-$(date -u +%Y%m%dT%H%M%SZ).txt
mb() { awk -v b="$1" 'BEGIN {printf "%.0f MB/s", b/1048576}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a/b}'; }
{
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); $(nginx -v 2>&1 | sed 's/.*: //'); $(squid -v | head -1 | sed 's/ for.*//')"
printf '%-34s %12s %10s\n' "" "result" "ratio"
printf '%-34s %12s %10s\n' "tunnels/s direct (no proxy)" "$R_DIRECT" "-"
printf '%-34s %12s %10s\n' "tunnels/s squid" "$R_SQ" "-"
printf '%-34s %12s %10s\n' "tunnels/s gatehouse" "$R_GH" "$(ratio "$R_GH" "$R_SQ")× squid"
printf '%-34s %12s %10s\n' "1 GiB direct" "$(mb "$B_DIRECT")" "-"
printf '%-34s %12s %10s\n' "1 GiB CONNECT squid" "$(mb "$B_SQ")" "$(ratio "$B_SQ" "$B_DIRECT")× direct"
printf '%-34s %12s %10s\n' "1 GiB CONNECT gatehouse" "$(mb "$B_GH")" "$(ratio "$B_GH" "$B_DIRECT")× direct"
printf '%-34s %12s %10s\n' "1 GiB plain HTTP squid" "$(mb "$B_SQ_HTTP")" "$(ratio "$B_SQ_HTTP" "$B_DIRECT")× direct"
printf '%-34s %12s %10s\n' "1 GiB plain HTTP gatehouse" "$(mb "$B_GH_HTTP")" "$(ratio "$B_GH_HTTP" "$B_DIRECT")× direct"
echo "peak memory: gatehouse $(hwm "$GPID") MB (whole serve process), squid ${SQ_HWM} MB"
} | tee "$RESULT"
echo "(written to $RESULT)"
