#!/usr/bin/env bash
# Directory sync beside ldapsearch, on this machine: a slapd with 20,000 people and 2,000
# groups (service account limited to 500 entries per search, so both sides page), then
#   ldapsearch   dumping the same people and groups (paged, same attributes) to /dev/null
#   gatehouse    ldap sync — first full sync into an empty database, then a no-change resync
# Each is run RUNS times; the median wall time and the peak resident memory are reported.
# Usage: bench/ldap-sync.sh [--people 20000] [--groups 2000] [--runs 3]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PEOPLE=20000 NGROUPS=2000 RUNS=3
while [ $# -gt 0 ]; do
  case "$1" in
    --people) PEOPLE=$2; shift 2 ;;
    --groups) NGROUPS=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    *) echo "usage: bench/ldap-sync.sh [--people N] [--groups N] [--runs N]" >&2; exit 2 ;;
  esac
done

. bench/lib.sh
install_missing slapd ldap-utils time python3 libsqlite3-dev libssl-dev libldap2-dev

echo "building release…"
swift build -c release --product gatehouse >/dev/null
G=$ROOT/.build/release/gatehouse

WORK=$(mktemp -d /tmp/gatehouse-ldapbench-XXXXXX)
SLAPD_PID=""
cleanup() { if [ -n "$SLAPD_PID" ]; then kill -9 "$SLAPD_PID" 2>/dev/null; wait "$SLAPD_PID" 2>/dev/null || true; fi; rm -rf "$WORK"; }
trap cleanup EXIT

PORT=$(free_port)
SVC_DN="cn=gatehouse,ou=services,dc=acme,dc=com"; SVC_PW="bench-secret"
mkdir -p "$WORK/db"
cat >"$WORK/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile $WORK/slapd.pid
database mdb
maxsize 4294967296
suffix "dc=acme,dc=com"
rootdn "cn=admin,dc=acme,dc=com"
rootpw $(slappasswd -s root-secret)
directory $WORK/db
index objectClass eq
limits dn.exact="$SVC_DN" size.soft=500 size.hard=500 size.prtotal=unlimited
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
CONF
{
  printf 'dn: dc=acme,dc=com\nobjectClass: dcObject\nobjectClass: organization\ndc: acme\no: Acme\n\n'
  for ou in people groups services; do printf 'dn: ou=%s,dc=acme,dc=com\nobjectClass: organizationalUnit\nou: %s\n\n' $ou $ou; done
  printf 'dn: %s\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: gatehouse\nuserPassword: %s\n\n' "$SVC_DN" "$(slappasswd -s $SVC_PW)"
  python3 bench/ldap-gen.py "$PEOPLE" "$NGROUPS"
} >"$WORK/data.ldif"
echo "loading $PEOPLE people and $NGROUPS groups into slapd…"
slapadd -q -f "$WORK/slapd.conf" -l "$WORK/data.ldif"
slapd -f "$WORK/slapd.conf" -h "ldap://127.0.0.1:$PORT/" -d 0 2>"$WORK/slapd.log" &
SLAPD_PID=$!
for _ in $(seq 100); do ldapsearch -x -H "ldap://127.0.0.1:$PORT" -b "" -s base >/dev/null 2>&1 && break; sleep 0.1; done

printf '%s\n' "$SVC_PW" >"$WORK/ldap.pw"
cat >"$WORK/gatehouse.yml" <<YML
ldap:
  url: ldap://127.0.0.1:$PORT
  bind_dn: $SVC_DN
  bind_password_file: ldap.pw
  user_base: ou=people,dc=acme,dc=com
  group_base: ou=groups,dc=acme,dc=com
  page_size: 500
YML

# measure LABEL CMD…: wall seconds and max RSS (KiB) of one run, appended to $WORK/LABEL.
measure() {
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$WORK/time.out" "$@" >/dev/null 2>"$WORK/cmd.err" || { cat "$WORK/cmd.err" >&2; exit 1; }
  cat "$WORK/time.out" >>"$WORK/$label"
}
ldapdump() {
  ldapsearch -LLL -x -H "ldap://127.0.0.1:$PORT" -D "$SVC_DN" -y "$WORK/ldap.pw.nonl" -E pr=500/noprompt \
    -b ou=people,dc=acme,dc=com '(objectClass=inetOrgPerson)' uid mail cn entryUUID
  ldapsearch -LLL -x -H "ldap://127.0.0.1:$PORT" -D "$SVC_DN" -y "$WORK/ldap.pw.nonl" -E pr=500/noprompt \
    -b ou=groups,dc=acme,dc=com '(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup))' cn member uniqueMember memberUid
}
(umask 077; printf "%s" "$SVC_PW" >"$WORK/ldap.pw.nonl")
export -f ldapdump; export PORT SVC_DN WORK

for run in $(seq "$RUNS"); do
  echo "run $run/$RUNS…"
  measure ldapsearch bash -c ldapdump
  rm -f "$WORK/gatehouse.db"*
  (cd "$WORK" && "$G" migrate >/dev/null)
  (cd "$WORK" && measure first "$G" ldap sync)
  (cd "$WORK" && measure resync "$G" ldap sync)
done
entries=$(bash -c ldapdump | grep -c '^dn:')
[ "$entries" = $((PEOPLE + NGROUPS)) ] || { echo "ldapsearch saw $entries entries, expected $((PEOPLE + NGROUPS))" >&2; exit 1; }
(cd "$WORK" && "$G" users list --json | python3 -c 'import json,sys; n=len(json.load(sys.stdin)); print(f"gatehouse holds {n} people"); assert n == '"$PEOPLE")

python3 - "$WORK" <<'PY'
import statistics, sys, os
work = sys.argv[1]
def load(name):
    rows = [tuple(map(float, l.split())) for l in open(os.path.join(work, name)) if l.strip()]
    return statistics.median(r[0] for r in rows), max(r[1] for r in rows) / 1024
base, base_mem = load("ldapsearch")
first, first_mem = load("first")
resync, resync_mem = load("resync")
print()
print(f"{'':28}{'median s':>10}{'× ldapsearch':>14}{'peak RSS MB':>13}")
print(f"{'ldapsearch (paged dump)':28}{base:10.2f}{1:14.2f}{base_mem:13.0f}")
print(f"{'gatehouse first sync':28}{first:10.2f}{first / base:14.2f}{first_mem:13.0f}")
print(f"{'gatehouse no-change resync':28}{resync:10.2f}{resync / base:14.2f}{resync_mem:13.0f}")
print()
def verdict(ok): return "met" if ok else "NOT met"
peak = max(first_mem, resync_mem)
# Issue 4's targets were set at 20,000 people; issue 20's at 100,000 people and 10,000 groups.
print(f"issue 4 (20,000 people): first ≤ 3× ({verdict(first <= 3 * base)}), resync ≤ 2× ({verdict(resync <= 2 * base)}), "
      f"memory < 300 MB ({verdict(peak < 300)})")
print(f"issue 20 (100,000 people, 10,000 groups): first ≤ 3× ({verdict(first <= 3 * base)}), "
      f"resync ≤ 1.5× ({verdict(resync <= 1.5 * base)}), memory ≤ 1 GB ({verdict(peak <= 1024)})")
PY
