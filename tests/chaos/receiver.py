"""The receiving HTTP system of the chaos battery, run as its own process.

It takes `POST /orders` (JSON with an `order_no`), honours `Idempotency-Key` (a repeated key is
answered 200 and not kept again) and appends every request it accepted to a JSON-lines log,
before answering, with the key and whether the key was a repeat. So the log shows both what a
receiver that ignores the key would have counted (raw arrivals) and what one that honours it keeps.

Faults are switched on by the test: `POST /_control {"mode": M, "count": N}` answers the next N
order requests (all of them when N is null, until the mode changes) with M:
`500`, `503`, `429` (with `Retry-After: 0`) or `timeout` (keep the order, but answer only after
`hold` seconds, when the caller has given up: the slow receiver that makes a caller retry what
it already has). `ok` ends a fault. An order whose body has `"poison": true` is always answered
422: it is bad data, not a bad moment. `GET /_stats` answers the counts.

Run: python receiver.py --log FILE [--port PORT]; the first line it prints names its URL.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FAULTS = {"500", "503", "429", "timeout"}


class State:
    def __init__(self, log: Path) -> None:
        self.lock = threading.Lock()
        self.log = log.open("a", buffering=1)
        self.seen: set[str] = set()
        self.mode = "ok"
        self.remaining: int | None = None
        self.hold = 5.0
        self.stats = {"accepted": 0, "repeats": 0, "faults": 0, "poison": 0}

    def fault(self) -> str | None:
        """The fault this request gets, if any (and count it off)."""
        with self.lock:
            if self.mode == "ok":
                return None
            mode = self.mode
            if self.remaining is not None:
                self.remaining -= 1
                if self.remaining <= 0:
                    self.mode, self.remaining = "ok", None
            self.stats["faults"] += 1
            return mode

    def accept(self, key: str, order: Any) -> bool:
        """Record an accepted order; True when its key was seen before."""
        with self.lock:
            repeat = bool(key) and key in self.seen
            self.seen.add(key)
            self.stats["accepted"] += 1
            self.stats["repeats"] += repeat
            self.log.write(json.dumps({"key": key, "order": order, "repeat": repeat}) + "\n")
            return repeat


def make_handler(state: State) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: the hub's client reuses its connections

        def _answer(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> Any:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            return json.loads(raw) if raw else None

        def do_GET(self) -> None:
            if self.path == "/_stats":
                with state.lock:
                    self._answer(200, {**state.stats, "mode": state.mode, "keys": len(state.seen)})
            else:
                self._answer(200, {"status": "ok"})

        def do_HEAD(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self) -> None:
            body = self._body()
            if self.path == "/_control":
                mode = str(body["mode"])
                if mode != "ok" and mode not in FAULTS:
                    self._answer(400, {"error": f"unknown mode {mode!r}"})
                    return
                with state.lock:
                    state.mode, state.remaining = mode, body.get("count")
                    state.hold = float(body.get("hold", state.hold))
                self._answer(200, {"mode": mode})
                return
            if self.path != "/orders" or not isinstance(body, dict):
                self._answer(404, {"error": "POST /orders takes a JSON object"})
                return
            if body.get("poison"):
                with state.lock:
                    state.stats["poison"] += 1
                self._answer(422, {"error": "poison order refused"})
                return
            fault = state.fault()
            if fault is not None and fault != "timeout":
                headers = {"Retry-After": "0"} if fault == "429" else None
                self._answer(int(fault), {"error": f"simulated {fault}"}, headers)
                return
            repeat = state.accept(self.headers.get("Idempotency-Key", ""), body.get("order_no"))
            if fault == "timeout":
                time.sleep(state.hold)  # kept, but answered after the caller gave up waiting
            self._answer(200 if repeat else 201, {"status": "duplicate ignored" if repeat else "created"})

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0, help="0 (the default): a port the OS chooses")
    parser.add_argument("--log", type=Path, required=True)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(State(args.log)))
    server.daemon_threads = True
    print(f"receiver on http://127.0.0.1:{server.server_address[1]}/orders, log {args.log}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
