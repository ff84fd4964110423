#!/usr/bin/env python3
"""Waits until the Gatehouse server on PORT knows person u<I>; exits 1 after LIMIT seconds.

A login from an org outside the bench policy is refused without writing anything, and the
refusal names the person only when the server's memory has them. One process asks every
20 ms (a curl forked 50 times a second took a good share of this 2-core machine's CPU from the
server whose load it was timing).
Usage: bench/known.py PORT TOKEN I [LIMIT_SECONDS]
"""
import http.client
import json
import sys
import time

port, token, i = int(sys.argv[1]), sys.argv[2], sys.argv[3]
limit = float(sys.argv[4]) if len(sys.argv) > 4 else 600
body = json.dumps({"provider": "github", "username": f"u{i}", "external_id": i, "orgs": ["other"]})
headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
deadline = time.monotonic() + limit
connection = None
while time.monotonic() < deadline:
    try:
        if connection is None:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("POST", "/v1/authorize/login", body, headers)
        answer = connection.getresponse().read()
        if b'"person":"' in answer:
            sys.exit(0)
    except (OSError, http.client.HTTPException):
        if connection is not None:
            connection.close()
        connection = None
    time.sleep(0.02)
sys.exit(1)
