"""A receiving system for tests and benchmarks, run as its own process: accepts POST /orders,
takes `--delay` seconds per request (a slow system: with the hub's concurrency of C, it takes
C / delay orders per second), and records every request's Idempotency-Key and order id in an
SQLite file, so that a test can count what arrived, and what arrived twice.

    python tests/receiver.py --port N --db received.db [--delay 0.01]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def serve(port: int, db: str, delay: float) -> None:
    conn = sqlite3.connect(db, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE IF NOT EXISTS received (key TEXT, order_id TEXT, at REAL)")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:
            self.send_response(200)
            self.end_headers()

        def do_GET(self) -> None:
            self.do_HEAD()

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            time.sleep(delay)
            with lock:
                conn.execute(
                    "INSERT INTO received VALUES (?, ?, ?)",
                    (self.headers.get("Idempotency-Key"), str(body.get("order_no")), time.time()),
                )
            self.send_response(201)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args()
    serve(args.port, args.db, args.delay)
