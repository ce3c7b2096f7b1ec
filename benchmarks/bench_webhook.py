"""Benchmark: webhook -> map -> SQLite upsert, durable (fsync per group commit), through a real
`interlace run` process; side by side in the same run with a hand-written point-to-point endpoint
doing the same work (baseline_webhook_app.py: map + upsert + fsync per request).

Reports, at each client concurrency: messages/s acknowledged, p50/p99 ack latency, and for the hub
the end-to-end rate (until the last row is in the sink). Ratios are hub / baseline.

    .venv/bin/python benchmarks/bench_webhook.py [--messages 3000] [--concurrency 10 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent

CONFIG = """
hub: {{name: bench, port: {port}, workers: 64, trace: false}}
owners: {{ops: {{email: ops@example.test}}}}
systems:
  shop: {{connector: webhook}}
  erp: {{connector: sqlite, path: {db}, setup: {schema}}}
flows:
  orders:
    trigger: {{system: shop}}
    steps:
      - map: '{{"order_no": id, "email": customer.email, "total": $sum(lines.(qty * price))}}'
    deliver: {{system: erp, table: orders, mode: upsert, key: order_no}}
    on_error: {{owner: ops}}
"""


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def order(i: int, run: str) -> dict[str, object]:
    return {
        "id": f"{run}-{i}",
        "customer": {"email": f"c{i}@example.test", "name": "Customer"},
        "lines": [{"sku": f"S{j}", "qty": j + 1, "price": 2.5} for j in range(3)],
    }


async def _post(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str, body: bytes) -> int:
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    await reader.readexactly(length)
    return status


async def load(port: int, path: str, messages: int, concurrency: int, run: str) -> tuple[float, list[float]]:
    """`concurrency` keep-alive clients POST `messages` orders in all. A raw HTTP/1.1 client, so that
    the load generator costs little CPU next to the servers it measures."""
    latencies: list[float] = []
    counter = iter(range(messages))

    async def one_client() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for i in counter:
                body = json.dumps(order(i, run)).encode()
                started = time.perf_counter()
                status = await _post(reader, writer, path, body)
                latencies.append(time.perf_counter() - started)
                if status != 202:
                    raise RuntimeError(f"{path} answered {status}")
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(one_client() for _ in range(concurrency)))
    return time.perf_counter() - started, latencies


def wait_up(url: str, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stdout.read().decode() if proc.stdout else ''}")
        try:
            httpx.get(url, timeout=0.5)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise TimeoutError(url)


def count_rows(db: Path, run: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM orders WHERE order_no LIKE ?", (f"{run}-%",)).fetchone()[0])


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000 if len(values) > 1 else values[0] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[10, 50])
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="interlace-bench-"))
    schema = work / "schema.sql"
    schema.write_text("CREATE TABLE IF NOT EXISTS orders (order_no TEXT PRIMARY KEY, email TEXT, total NUMERIC);")

    hub_port, base_port = free_port(), free_port()
    hub_db, base_db = work / "hub-erp.db", work / "baseline.db"
    (work / "hub.yaml").write_text(CONFIG.format(port=hub_port, db=hub_db, schema=schema))
    hub = subprocess.Popen(
        [str(BIN / "interlace"), "run", str(work / "hub.yaml"), "--log-level", "warning"],
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = subprocess.Popen(
        [sys.executable, str(HERE / "baseline_webhook_app.py"), str(base_db), str(base_port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_up(f"http://127.0.0.1:{hub_port}/health", hub)
        wait_up(f"http://127.0.0.1:{base_port}/", base)
        print(f"{args.messages} orders per run; durable (synchronous=FULL) on both sides\n")
        header = ("clients", "system", "acked msg/s", "p50 ms", "p99 ms", "end-to-end msg/s")
        print("{:>7} | {:<10} | {:>11} | {:>7} | {:>7} | {:>16}".format(*header))
        print("-" * 75)
        for c in args.concurrency:
            run = f"c{c}-{time.time_ns()}"
            asyncio.run(load(hub_port, "/hooks/shop", 200, c, run + "w"))  # warm up
            started = time.perf_counter()
            elapsed, lat = asyncio.run(load(hub_port, "/hooks/shop", args.messages, c, run))
            while count_rows(hub_db, run) < args.messages:
                time.sleep(0.01)
            e2e = time.perf_counter() - started
            hub_rate = args.messages / elapsed
            print(
                f"{c:>7} | {'interlace':<10} | {hub_rate:>11.0f} | {pct(lat, 50):>7.1f} | {pct(lat, 99):>7.1f} |"
                f" {args.messages / e2e:>16.0f}"
            )
            asyncio.run(load(base_port, "/hooks/shop", 200, c, run + "w"))
            b_elapsed, b_lat = asyncio.run(load(base_port, "/hooks/shop", args.messages, c, run))
            base_rate = args.messages / b_elapsed
            print(
                f"{c:>7} | {'baseline':<10} | {base_rate:>11.0f} | {pct(b_lat, 50):>7.1f} | {pct(b_lat, 99):>7.1f} |"
                f" {base_rate:>16.0f}"
            )
            print(
                f"{c:>7} | {'ratio':<10} | {hub_rate / base_rate:>10.2f}x | "
                f"{pct(lat, 50) / pct(b_lat, 50):>6.2f}x | {pct(lat, 99) / pct(b_lat, 99):>6.2f}x |"
                f" {(args.messages / e2e) / base_rate:>15.2f}x"
            )
    finally:
        for p in (hub, base):
            p.terminate()
            p.wait(timeout=20)


if __name__ == "__main__":
    main()
