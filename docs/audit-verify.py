#!/usr/bin/env python3
"""Re-verify a Gatehouse audit chain without Gatehouse.

Usage:  gatehouse audit export --format json | python3 docs/audit-verify.py
        gatehouse audit export --format json --since 2026-11-01 | python3 docs/audit-verify.py --partial
Exit status 0 if the chain is intact, 1 with the first broken entry otherwise. With --partial
(a filtered export), each entry's own hash is checked against its prev_hash, and links only
where entries are consecutive.

Each entry's hash is SHA-256 (hex) over prev_hash followed by the canonical entry:
a JSON object with sorted keys and no whitespace whose "details" is the stored details
text (itself canonical JSON), e.g.
  {"action":"token.create","actor":"cli:alice","at":"2026-11-21T12:00:00.000Z","details":{...},"seq":3,"subject":"ci"}
The first entry's prev_hash is 64 zeros.
"""
import hashlib
import json
import sys


def canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def main():
    partial = "--partial" in sys.argv[1:]
    entries = json.load(sys.stdin)
    prev = "0" * 64
    previous_seq = 0
    for expected_seq, entry in enumerate(entries, start=1):
        if partial:
            if entry["seq"] <= previous_seq:
                print(f"broken at entry {entry['seq']}: out of order")
                return 1
            if entry["seq"] != previous_seq + 1:
                prev = entry["prev_hash"]  # a gap left by the filter: trust this entry's link
            previous_seq = entry["seq"]
        elif entry["seq"] != expected_seq:
            print(f"broken at entry {expected_seq}: missing or out of order")
            return 1
        if entry["prev_hash"] != prev:
            print(f"broken at entry {entry['seq']}: prev_hash does not match entry {entry['seq'] - 1}")
            return 1
        fields = {k: entry[k] for k in ("action", "actor", "at", "seq", "subject")}
        text = canonical(fields)
        # Embed the details exactly as canonical JSON text, between "at" and "seq".
        text = text.replace(',"seq":', ',"details":' + canonical(entry["details"]) + ',"seq":', 1)
        digest = hashlib.sha256((prev + text).encode("utf-8")).hexdigest()
        if digest != entry["hash"]:
            print(f"broken at entry {entry['seq']}: content does not match its hash")
            return 1
        prev = entry["hash"]
    print(f"ok: {len(entries)} entries, head {prev}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
