#!/usr/bin/env python3
"""Runs scim2-tester (PyPI) against a SCIM server and prints one JSON line per check.

    run-scim2-tester.py BASE_URL TOKEN

BASE_URL is the SCIM root (http://127.0.0.1:8080/scim/v2). Exit status 0 when every check
passed or was skipped, 1 otherwise. Used by ScimTesterTests; runnable by hand.
"""
import json
import sys

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server


def main() -> int:
    base, token = sys.argv[1], sys.argv[2]
    http = Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    client = SyncSCIMClient(http)
    results = check_server(client)
    failed = 0
    for r in results:
        status = r.status.name if hasattr(r.status, "name") else str(r.status)
        if r.status not in (Status.SUCCESS, Status.SKIPPED):
            failed += 1
        print(json.dumps({
            "title": r.title, "status": status, "resource_type": getattr(r, "resource_type", None),
            "reason": r.reason, "description": (r.description or "").split("\n")[0],
        }))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
