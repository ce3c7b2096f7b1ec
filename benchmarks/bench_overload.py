"""Benchmark 3: overload. A receiving system that takes about 200 orders/s (tests/receiver.py,
10 ms per request, 2 at a time), senders offering 2,000 orders/s for 20 s to a hub whose flow
may hold 1,000 undelivered work items. Reports the share of requests refused with 429 (each
with Retry-After), the largest backlog seen, the hub's peak RSS, and, once the receiver has
caught up, whether every acknowledged order arrived exactly once per Idempotency-Key.

    .venv/bin/python benchmarks/bench_overload.py [--rate 2000] [--seconds 20] [--bound 1000] [--write]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from common import HERE, free_port, machine, rss_mb, wait_http, write_section

BIN = Path(sys.executable).parent
RECEIVER = HERE.parent / "tests" / "receiver.py"
CONFIG = """
hub: {{name: overload, port: {port}, trace: false, max_pending: {bound}}}
owners: {{ops: {{email: ops@example.test}}}}
systems:
  shop: {{connector: webhook}}
  slow: {{connector: http, base_url: "http://127.0.0.1:{receiver}", concurrency: 2}}
flows:
  orders:
    trigger: {{system: shop}}
    steps:
      - map: '{{"order_no": id, "total": $sum(lines.(qty * price))}}'
    deliver: {{system: slow, method: POST, path: /orders}}
    on_error: {{owner: ops, retry: {{attempts: 50, backoff: "100ms..2s"}}}}
"""


async def offer(port: int, rate: int, seconds: float, clients: int = 50) -> tuple[set[str], int, int]:
    """Offer `rate` orders/s (open loop: each client keeps its own schedule) for `seconds`; the
    ids acknowledged with 202, how many were refused (429 with Retry-After), how many other."""
    acked: set[str] = set()
    refused = other = 0
    per_client = rate / clients
    started = time.perf_counter()

    async def client(c: int) -> None:
        nonlocal refused, other
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        n = 0
        while True:
            due = started + n / per_client
            if due - started > seconds:
                break
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            order_id = f"c{c}-{n}"
            n += 1
            body = json.dumps({"id": order_id, "lines": [{"qty": 1, "price": 2.5}]}).encode()
            writer.write(
                b"POST /hooks/shop HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            lines = head.lower().split(b"\r\n")
            length = next(int(h.split(b":", 1)[1]) for h in lines if h.startswith(b"content-length:"))
            await reader.readexactly(length)
            if status == 202:
                acked.add(order_id)
            elif status == 429 and b"retry-after:" in head.lower():
                refused += 1
            else:
                other += 1
        writer.close()

    await asyncio.gather(*(client(c) for c in range(clients)))
    return acked, refused, other


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--bound", type=int, default=1000)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="interlace-bench-overload-"))
    where = machine()
    rport, hport = free_port(), free_port()
    receiver = subprocess.Popen(
        [sys.executable, str(RECEIVER), "--port", str(rport), "--db", str(work / "received.db"), "--delay", "0.01"]
    )
    (work / "hub.yaml").write_text(CONFIG.format(port=hport, bound=args.bound, receiver=rport))
    hub = subprocess.Popen([str(BIN / "interlace"), "run", str(work / "hub.yaml"), "--log-level", "warning"], cwd=work)
    backlog: list[int] = []
    rss: list[float] = []
    try:
        wait_http(f"http://127.0.0.1:{rport}/", receiver)
        wait_http(f"http://127.0.0.1:{hport}/health", hub)

        async def run() -> tuple[set[str], int, int]:
            async def watch() -> None:
                async with httpx.AsyncClient() as http:
                    while True:
                        backlog.append((await http.get(f"http://127.0.0.1:{hport}/health")).json()["pending"])
                        rss.append(rss_mb(hub.pid))
                        await asyncio.sleep(0.1)

            watcher = asyncio.create_task(watch())
            try:
                return await offer(hport, args.rate, args.seconds)
            finally:
                watcher.cancel()

        acked, refused, other = asyncio.run(run())
        deadline = time.monotonic() + 300
        received: list[tuple[str, str]] = []
        while time.monotonic() < deadline:
            with sqlite3.connect(work / "received.db", timeout=30) as conn:
                received = conn.execute("SELECT key, order_id FROM received").fetchall()
            if acked <= {o for _, o in received}:
                break
            time.sleep(0.5)
    finally:
        hub.terminate()
        hub.wait(timeout=60)
        receiver.kill()
    arrived = {o for _, o in received}
    keys: dict[str, set[str]] = {}
    for key, o in received:
        keys.setdefault(o, set()).add(key)
    offered = len(acked) + refused + other
    lost = len(acked - arrived)
    text = [
        "## Overload: a slow receiver, senders twice as fast as it for ten times its rate",
        f"`.venv/bin/python benchmarks/bench_overload.py --write` ({where}).",
        "",
        f"A receiving system taking about 200 orders/s; senders offering {args.rate:,} orders/s for"
        f" {args.seconds:.0f} s (open loop, 50 keep-alive clients); the flow's bound (`max_pending`) is"
        f" {args.bound:,} undelivered work items.",
        "",
        "| offered | acknowledged (202) | refused (429 + Retry-After) | other answers | backlog at most"
        " | hub RSS at most | lost among the acknowledged | arrived under two keys |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {offered:,} | {len(acked):,} | {refused:,} ({refused / max(offered, 1):.0%}) | {other:,} | {max(backlog):,}"
        f" (bound {args.bound:,}) | {max(rss):.0f} MB | {lost} | {sum(1 for v in keys.values() if len(v) > 1)} |",
    ]
    print("\n".join(text))
    if args.write:
        write_section("overload", "\n".join(text))


if __name__ == "__main__":
    main()
