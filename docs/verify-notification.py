#!/usr/bin/env python3
"""Verify a Gatehouse webhook notification, independently of Gatehouse.

Gatehouse signs each webhook notification it sends:

    X-Gatehouse-Timestamp: <unix seconds when it was sent>
    X-Gatehouse-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>" with the shared secret>

A receiver recomputes the HMAC over the raw bytes it received (before parsing the JSON),
compares in constant time, and refuses a timestamp older than a few minutes (a replayed
delivery). Use `verify()` in your receiver, or this script from the command line:

    verify-notification.py --secret-file hook.secret --timestamp T --signature S < body.json

Exit status 0: genuine and fresh; 1: refused (the reason is printed). Or run it as a small
receiver that verifies every POST and prints what arrived (204 when genuine, 401 when not):

    verify-notification.py --secret-file hook.secret --listen 127.0.0.1:9000

Standard library only.
"""
import argparse
import hashlib
import hmac
import http.server
import json
import sys
import time


def verify(secret: bytes, timestamp: str, signature: str, body: bytes, now: float, max_age: float = 300) -> str | None:
    """None when genuine and fresh, else why not."""
    if not timestamp or not signature:
        return "missing X-Gatehouse-Timestamp or X-Gatehouse-Signature"
    if not signature.startswith("sha256="):
        return "the signature must be sha256=<hex>"
    try:
        sent = int(timestamp)
    except ValueError:
        return "the timestamp is not a whole number of seconds"
    if abs(now - sent) > max_age:
        return f"the timestamp is {int(abs(now - sent))} s away from now (more than {int(max_age)} s): a replay, or a wrong clock"
    expected = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature[len("sha256="):]):
        return "the signature does not match the body for this secret"
    return None


def serve(secret: bytes, listen: str, max_age: float) -> int:
    host, _, port = listen.rpartition(":")

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            problem = verify(secret, self.headers.get("X-Gatehouse-Timestamp", ""), self.headers.get("X-Gatehouse-Signature", ""),
                             body, time.time(), max_age)
            if problem:
                print(f"refused: {problem}", flush=True)
                self.send_response(401)
            else:
                event = json.loads(body)
                print(f"{event['event']}: {event['subject']}\n  {event['text']}", flush=True)
                self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    print(f"listening on http://{host}:{port}/ (Ctrl-C to stop)", flush=True)
    http.server.HTTPServer((host, int(port)), Receiver).serve_forever()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description="Verify a Gatehouse webhook notification read from stdin, or receive them.")
    parser.add_argument("--secret-file", required=True, help="file holding the channel's secret (secret_file in gatehouse.yml)")
    parser.add_argument("--timestamp", help="the X-Gatehouse-Timestamp header")
    parser.add_argument("--signature", help="the X-Gatehouse-Signature header")
    parser.add_argument("--listen", metavar="HOST:PORT", help="receive notifications here instead, verifying each")
    parser.add_argument("--max-age", type=float, default=300, help="seconds a delivery stays acceptable (default 300)")
    args = parser.parse_args()
    with open(args.secret_file, "rb") as f:
        secret = f.read().strip()
    if args.listen:
        return serve(secret, args.listen, args.max_age)
    if args.timestamp is None or args.signature is None:
        parser.error("give --timestamp and --signature (the headers), or --listen")
    problem = verify(secret, args.timestamp, args.signature, sys.stdin.buffer.read(), time.time(), args.max_age)
    if problem:
        print(f"refused: {problem}", file=sys.stderr)
        return 1
    print("ok: genuine and fresh")
    return 0


if __name__ == "__main__":
    sys.exit(main())
