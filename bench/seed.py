#!/usr/bin/env python3
"""Seed people for bench/authz.sh through the real API: logins that auto-activate seats.
Usage: seed.py BASE_URL TOKEN FIRST END   (users u{FIRST}..u{END-1})"""
import http.client
import json
import sys
import threading
import urllib.parse

base, token, first, end = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
url = urllib.parse.urlparse(base)
failures = []


def worker(ids):
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    for i in ids:
        body = json.dumps({"provider": "github", "username": f"u{i}", "external_id": str(i), "orgs": ["acme"], "teams": ["acme/eng"]})
        conn.request("POST", "/v1/authorize/login", body, {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        response = conn.getresponse()
        data = json.loads(response.read())
        if response.status != 200 or not data.get("allow"):
            failures.append((i, response.status, data))


threads = [threading.Thread(target=worker, args=(range(first + k, end, 16),)) for k in range(16)]
for t in threads:
    t.start()
for t in threads:
    t.join()
if failures:
    print(f"seeding failed for {len(failures)} users, e.g. {failures[:3]}", file=sys.stderr)
    sys.exit(1)
