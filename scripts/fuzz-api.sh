#!/usr/bin/env bash
# Fuzzes the HTTP API from its own OpenAPI document with schemathesis (PyPI), against a real
# `gatehouse serve --dev` on a free loopback port, once with the admin token and once with
# the authorize token. Fails on any 5xx, undocumented status or response off its schema.
# Usage: scripts/fuzz-api.sh [EXAMPLES_PER_OPERATION]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-50}
VENV=${FUZZ_VENV:-.venv-fuzz}
[ -x "$VENV/bin/schemathesis" ] || { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q "schemathesis>=4,<5"; }
swift build -c release --product gatehouse >/dev/null
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
LOG=$(mktemp)
.build/release/gatehouse serve --dev --port "$PORT" > "$LOG" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; rm -f "$LOG"' EXIT
for _ in $(seq 1 100); do grep -q "Stop with Ctrl-C" "$LOG" && break; sleep 0.1; done
status=0
for scope in admin authorize; do
  token=$(awk -v s="$scope" '$1 == s {print $2}' "$LOG")
  echo "== fuzzing with the $scope token"
  "$VENV/bin/schemathesis" run "http://127.0.0.1:$PORT/openapi.json" -H "Authorization: Bearer $token" \
    -c not_a_server_error,status_code_conformance,response_schema_conformance -n "$N" || status=1
done
kill -0 $SERVER 2>/dev/null || { echo "the server died:"; tail -40 "$LOG"; status=1; }
exit $status
