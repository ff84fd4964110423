#!/usr/bin/env python3
"""Provisions a directory into Gatehouse over SCIM the way Okta does, with CONCURRENCY clients:
for each user a look-up (GET /Users?filter=userName eq "…") then a create (POST /Users); then
each group created (POST /Groups) and its members pushed in one PATCH. The membership is
bench/ldap-gen.py's (same seed): each person in three of the groups, so the LDAP sync bench
reads the same directory. Standard library only.

    scim-load.py API_URL SCIM_TOKEN AUTHORIZE_TOKEN PEOPLE GROUPS CONCURRENCY

Prints one JSON object: timings, rates, and how long after its membership PATCH returned a
login decision took to see a sampled person in their group.
"""
import http.client
import json
import random
import sys
import threading
import time
import urllib.parse

api, scim_token, authz_token = sys.argv[1], sys.argv[2], sys.argv[3]
people, groups, concurrency = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
host = urllib.parse.urlparse(api)
local = threading.local()


def request(method, path, body=None, token=scim_token):
    if not hasattr(local, "conn"):
        local.conn = http.client.HTTPConnection(host.hostname, host.port, timeout=120)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
    payload = None if body is None else json.dumps(body)
    for attempt in range(3):
        try:
            local.conn.request(method, path, payload, headers)
            resp = local.conn.getresponse()
            data = resp.read()
            return resp.status, (json.loads(data) if data else None)
        except (http.client.HTTPException, OSError):
            local.conn.close()
            local.conn = http.client.HTTPConnection(host.hostname, host.port, timeout=120)
    raise RuntimeError(f"{method} {path} failed")


def run(items, work):
    """Runs work(item) over items with `concurrency` threads; returns elapsed seconds."""
    lock, it = threading.Lock(), iter(items)
    errors = []

    def worker():
        while True:
            with lock:
                item = next(it, None)
            if item is None:
                return
            try:
                work(item)
            except Exception as e:  # reported, and the bench fails
                errors.append(repr(e))
                return

    start = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit("errors: " + "; ".join(errors[:3]))
    return time.perf_counter() - start


ids = [None] * people


def provision_user(i):
    uid = f"user{i:06d}"
    status, found = request("GET", "/scim/v2/Users?filter=" + urllib.parse.quote(f'userName eq "{uid}"') + "&startIndex=1&count=100")
    assert status == 200 and found["totalResults"] == 0, (status, found)
    status, created = request("POST", "/scim/v2/Users", {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": uid, "active": True,
        "name": {"givenName": "User", "familyName": str(i)}, "displayName": f"User {i}",
        "emails": [{"value": f"{uid}@acme.com", "type": "work", "primary": True}], "externalId": f"00u{i:08d}"})
    assert status == 201, (status, created)
    ids[i] = created["id"]


rng = random.Random(42)
members = [[] for _ in range(groups)]
member_of = [[] for _ in range(people)]
for i in range(people):
    for g in rng.sample(range(groups), 3):
        members[g].append(i)
        member_of[i].append(g)
# Every 40th group is allowed to log in (login.scim.allowed_groups, written by bench/scim.sh);
# for each, a member in no other allowed group is asked about the moment the PATCH returns.
sample = set(range(0, groups, 40))
probe = {g: next((i for i in members[g] if sum(x in sample for x in member_of[i]) == 1), None) for g in sample}
latencies = []
first_answers = []  # whether the first decision asked after the PATCH already allowed


def provision_group(g):
    name = f"group{g:05d}"
    status, found = request("GET", "/scim/v2/Groups?filter=" + urllib.parse.quote(f'displayName eq "{name}"') + "&excludedAttributes=members")
    assert status == 200 and found["totalResults"] == 0, (status, found)
    status, created = request("POST", "/scim/v2/Groups", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name})
    assert status == 201, (status, created)
    if not members[g]:
        return
    status, _ = request("PATCH", f"/scim/v2/Groups/{created['id']}", {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": ids[i]} for i in members[g]]}]})
    assert status == 200, status
    if probe.get(g) is not None:
        # The login decision for one of its members, asked the moment the PATCH returned.
        person = f"user{probe[g]:06d}"
        start = time.perf_counter()
        asked = 0
        while True:
            asked += 1
            status, answer = request("POST", "/v1/authorize/login", {"provider": "scim", "username": person}, token=authz_token)
            if status == 200 and answer.get("allow"):
                first_answers.append(asked == 1)
                break
            if time.perf_counter() - start > 30:
                raise RuntimeError(f"{person} not allowed 30 s after joining {name}: {answer}")
            time.sleep(0.001)
        latencies.append(time.perf_counter() - start)


users_s = run(range(people), provision_user)
groups_s = run(range(groups), provision_group)
latencies.sort()
print(json.dumps({
    "people": people, "groups": groups, "memberships": sum(len(m) for m in members), "concurrency": concurrency,
    "users_seconds": round(users_s, 2), "users_per_second": round(people / users_s, 1),
    "groups_seconds": round(groups_s, 2), "groups_per_second": round(groups / groups_s, 1),
    "total_seconds": round(users_s + groups_s, 2),
    "decision_sees_member_ms_median": round(1000 * latencies[len(latencies) // 2], 2) if latencies else None,
    "decision_sees_member_ms_max": round(1000 * latencies[-1], 2) if latencies else None,
    "probes": len(first_answers), "allowed_at_first_ask": sum(first_answers),
}))
