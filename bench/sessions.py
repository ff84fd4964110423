#!/usr/bin/env python3
"""Signed-in people for bench/gate.sh: COUNT gate sessions spread over the people seeded as
github:u0…u{PEOPLE-1}, written straight into the SQLite database (the server loads them at
start, as it loads every live session). Signing in 100,000 times through a provider is not
what the benchmark measures: answering /gate/auth with that many live sessions is.
Prints the cookies of the first KEEP sessions (the ones wrk sends), one per line.
Usage: sessions.py DATABASE_FILE PEOPLE COUNT KEEP"""
import base64
import datetime
import hashlib
import secrets
import sqlite3
import sys

path, people, count, keep = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
db = sqlite3.connect(path)
persons = dict(db.execute("SELECT username_key, person_id FROM identities WHERE provider = 'github'"))
now = datetime.datetime.now(datetime.timezone.utc)
stamp = lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"
alphabet = "abcdefghijklmnopqrstuvwxyz234567"
db.execute("DELETE FROM sessions")
rows, cookies = [], []
for i in range(count):
    user = f"u{i % people}"
    token = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    sid = "s_" + "".join(secrets.choice(alphabet) for _ in range(20))
    rows.append((sid, hashlib.sha256(token.encode()).hexdigest(), persons[user], "github:" + user, "bench",
                 stamp(now), stamp(now + datetime.timedelta(hours=12)), stamp(now), "wrk", "127.0.0.1"))
    if i < keep:
        cookies.append("gatehouse_session=" + token)
db.executemany("INSERT INTO sessions (id, token_hash, person_id, identity, signin, created_at, expires_at, last_seen_at, user_agent, address) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
db.commit()
print("\n".join(cookies))
