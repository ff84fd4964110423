#!/usr/bin/env bash
# SCIM provisioning beside the LDAP sync of the same directory, on this machine:
#   scim   20,000 users and 2,000 groups pushed into `gatehouse serve` (SQLite) over SCIM by a
#          concurrent client doing what Okta does (look-up, create; group create, members PATCH),
#          and how soon after a members PATCH returns a login decision sees the person in the group
#   ldap   bench/ldap-sync.sh on the same people and groups (first sync, resync, ldapsearch)
# Usage: bench/scim.sh [--people 20000] [--groups 2000] [--concurrency 8] [--no-ldap]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PEOPLE=20000 NGROUPS=2000 CONCURRENCY=8 LDAP=1
while [ $# -gt 0 ]; do
  case "$1" in
    --people) PEOPLE=$2; shift 2 ;;
    --groups) NGROUPS=$2; shift 2 ;;
    --concurrency) CONCURRENCY=$2; shift 2 ;;
    --no-ldap) LDAP=0; shift ;;
    *) echo "usage: bench/scim.sh [--people N] [--groups N] [--concurrency N] [--no-ldap]" >&2; exit 2 ;;
  esac
done

. bench/lib.sh
install_missing python3 curl time libsqlite3-dev libssl-dev libldap2-dev

echo "building release…"
swift build -c release --product gatehouse >/dev/null
G=$ROOT/.build/release/gatehouse

WORK=$(mktemp -d /tmp/gatehouse-scimbench-XXXXXX)
SERVE_PID=""
cleanup() { [ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
cd "$WORK"
bench_license "$G"
PORT=$(free_port)
{ bench_config "$WORK/gatehouse.db"; printf 'scim: {max_removal_percent: 100}\n'; } > gatehouse.yml
mkdir policies
# Every 40th group may log in (the groups scim-load.py probes).
python3 -c "
import sys
groups = int(sys.argv[1])
print('login:\n  scim: {allowed_groups: [' + ', '.join(f'group{g:05d}' for g in range(0, groups, 40)) + ']}')
" "$NGROUPS" > policies/login.yml
printf 'seats:\n  auto_activate: true\n' > policies/seats.yml
"$G" migrate >/dev/null
"$G" license install bench.lic >/dev/null
"$G" policy apply policies >/dev/null
SCIM_TOKEN=$("$G" tokens create --name okta --scope scim 2>/dev/null)
AUTHZ_TOKEN=$("$G" tokens create --name codecov --scope authorize 2>/dev/null)
LOG_LEVEL=warning "$G" serve --port "$PORT" --egress-port 0 --gate-port 0 > serve.log 2>&1 &
SERVE_PID=$!
for _ in $(seq 200); do curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.05; done

echo "provisioning $PEOPLE users and $NGROUPS groups over SCIM with $CONCURRENCY clients…"
python3 "$ROOT/bench/scim-load.py" "http://127.0.0.1:$PORT" "$SCIM_TOKEN" "$AUTHZ_TOKEN" "$PEOPLE" "$NGROUPS" "$CONCURRENCY" > scim.json
RSS=$(ps -o rss= -p "$SERVE_PID")
held=$("$G" scim status --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["users"], d["groups"])')
[ "$held" = "$PEOPLE $NGROUPS" ] || { echo "gatehouse holds $held users/groups, expected $PEOPLE $NGROUPS" >&2; exit 1; }
python3 - scim.json "$RSS" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); rss = int(sys.argv[2]) / 1024
print()
print(f"SCIM: {d['people']} users, {d['groups']} groups, {d['memberships']} memberships, {d['concurrency']} concurrent clients")
print(f"  users (look-up + create)      {d['users_seconds']:8.2f} s  {d['users_per_second']:8.1f} users/s")
print(f"  groups (look-up, create, PATCH members) {d['groups_seconds']:8.2f} s  {d['groups_per_second']:8.1f} groups/s")
print(f"  total                         {d['total_seconds']:8.2f} s")
print(f"  a login decision sees a new member: {d['allowed_at_first_ask']} of {d['probes']} allowed by the first decision asked after the PATCH returned;")
print(f"    that decision answered in median {d['decision_sees_member_ms_median']} ms, max {d['decision_sees_member_ms_max']} ms (the server busy with the other clients)")
print(f"  serve RSS after: {rss:.0f} MB")
PY
kill "$SERVE_PID"; wait "$SERVE_PID" 2>/dev/null || true; SERVE_PID=""
cd "$ROOT"
if [ "$LDAP" = 1 ]; then
  echo
  echo "the same directory through LDAP (bench/ldap-sync.sh --runs 1):"
  bench/ldap-sync.sh --people "$PEOPLE" --groups "$NGROUPS" --runs 1 | sed -n '/median s/,$p'
fi
