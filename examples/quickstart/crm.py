"""A tiny stand-in CRM for the quickstart: accepts POST /api/orders with a bearer token, keeps
each order once per Idempotency-Key, and appends it to crm-orders.jsonl.

Run: python crm.py [--port 9100] [--token secret] [--fail-first N] [--log FILE]
(--fail-first answers 500 to the first N requests, to watch the hub retry.) The port and token
default to $CRM_PORT and $CRM_TOKEN, else 9100 and quickstart-token; the log to crm-orders.jsonl
beside this file, wherever it is started from. A port already taken exits with code 3.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def make_handler(token: str, log: Path, fail_first: int) -> type[BaseHTTPRequestHandler]:
    seen: set[str] = set()
    lock = threading.Lock()
    state = {"failures_left": fail_first}

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, body: dict[str, object]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_HEAD(self) -> None:
            self.send_response(200)
            self.end_headers()

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            if self.headers.get("Authorization") != f"Bearer {token}":
                self._answer(401, {"error": "bad token"})
                return
            if self.path != "/api/orders":
                self._answer(404, {"error": "no such path"})
                return
            with lock:
                if state["failures_left"] > 0:
                    state["failures_left"] -= 1
                    self._answer(500, {"error": "simulated outage"})
                    return
                key = self.headers.get("Idempotency-Key", "")
                if key and key in seen:
                    self._answer(200, {"status": "duplicate ignored"})
                    return
                seen.add(key)
                with log.open("a") as f:
                    f.write(json.dumps({"idempotency_key": key, "order": json.loads(raw)}) + "\n")
            self._answer(201, {"status": "created"})

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("CRM_PORT") or 9100))
    parser.add_argument("--token", default=os.environ.get("CRM_TOKEN") or "quickstart-token")
    parser.add_argument("--log", type=Path, default=Path(__file__).resolve().parent / "crm-orders.jsonl")
    parser.add_argument("--fail-first", type=int, default=0)
    args = parser.parse_args()
    try:
        server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(args.token, args.log, args.fail_first))
    except OSError as exc:
        print(f"crm: cannot listen on 127.0.0.1:{args.port}: {exc.strerror} (set CRM_PORT or --port)", file=sys.stderr)
        raise SystemExit(3) from None
    print(f"crm listening on http://127.0.0.1:{args.port}/api/orders, writing {args.log}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
