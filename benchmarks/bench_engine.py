"""Benchmark 2: the engine in-process, from enqueue to sink row, beside a raw sqlite3 floor that
writes the same rows.

Interlace: a Hub in this process (no HTTP), 50 producers handing orders to the ingress the way the
webhook does (each waits for its order to be durable), the worker mapping them and upserting them
into an SQLite table; timed until the last row is in the sink. The store is durable
(synchronous=FULL for what a sender is told is stored).

The floor: plain sqlite3 in one thread writing, per message, the rows the hub writes - the
message into the queue, already leased to its worker as the hub stores a new message (committed
with synchronous=FULL), the sink row (upsert, in the sink's own file, synchronous=NORMAL as the
hub's SQLite sink) and the removal of the work item with the flow counter - in batches of the same
size as the producers' group commits (50), without any of the hub's Python work (no envelopes,
no mapping, no JSON besides the message column).

    .venv/bin/python benchmarks/bench_engine.py [--messages 20000] [--rounds 3] [--write]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from common import ORDERS, ORDERS_TABLE, machine, write_section
from interlace.config.loader import load_config
from interlace.connectors.base import Incoming
from interlace.hub import Hub, run_event_loop

CONFIG = 'hub: {{name: engine, store: "sqlite:///{store}", trace: false}}' + ORDERS
SCHEMA = ORDERS_TABLE
PRODUCERS = 50


def order(i: int, run: str) -> dict[str, object]:
    return {
        "id": f"{run}-{i}",
        "customer": {"email": f"c{i}@example.test", "name": "Customer"},
        "lines": [{"sku": f"S{j}", "qty": j + 1, "price": 2.5} for j in range(3)],
    }


def hub_run(folder: Path, messages: int) -> tuple[float, float]:
    """(messages/s, CPU ms per message) of the hub, enqueue to sink row."""
    folder.mkdir()
    (folder / "schema.sql").write_text(SCHEMA)
    (folder / "hub.yaml").write_text(
        CONFIG.format(store=folder / "hub.db", db=folder / "erp.db", schema=folder / "schema.sql")
    )
    hub = Hub(load_config(folder / "hub.yaml"))
    bodies = [order(i, "e") for i in range(messages)]

    async def main() -> tuple[float, float]:
        await hub.start(sources=False)
        counter = iter(range(messages))

        async def producer() -> None:
            for i in counter:
                await hub.ingress.receive("shop", None, Incoming(body=bodies[i]))

        cpu, started = time.process_time(), time.perf_counter()
        await asyncio.gather(*(producer() for _ in range(PRODUCERS)))
        await hub.worker.drain(timeout=600)
        elapsed, used = time.perf_counter() - started, time.process_time() - cpu
        await hub.stop()
        return messages / elapsed, used / messages * 1000

    rate, cpu = run_event_loop(main())
    with sqlite3.connect(folder / "erp.db") as conn:
        assert conn.execute("SELECT count(*) FROM orders").fetchone()[0] == messages
    return rate, cpu


def floor_run(folder: Path, messages: int, batch: int = PRODUCERS) -> tuple[float, float]:
    folder.mkdir()
    store = sqlite3.connect(folder / "hub.db", isolation_level=None)
    sink = sqlite3.connect(folder / "erp.db", isolation_level=None)
    for conn in (store, sink):
        conn.execute("PRAGMA journal_mode=WAL")
    store.execute("PRAGMA synchronous=FULL")
    sink.execute("PRAGMA synchronous=NORMAL")  # as the hub's SQLite sink connects
    # the hub's policy: what a sender is told is stored is fsynced (FULL); settles, which a crash
    # only makes run again, are not (NORMAL)
    store.executescript(
        "CREATE TABLE work (id INTEGER PRIMARY KEY, flow TEXT, position INTEGER, message TEXT, attempts INTEGER,"
        " available_at REAL, lease_owner TEXT); CREATE INDEX work_due ON work (available_at);"
        " CREATE TABLE flow_counts (flow TEXT PRIMARY KEY, received INTEGER, delivered INTEGER);"
    )
    sink.execute(SCHEMA)
    envelope = {"flow": "orders", "source": "shop", "headers": {}, "attempt": 0}
    cpu, started = time.process_time(), time.perf_counter()
    for start in range(0, messages, batch):
        chunk = [order(i, "f") for i in range(start, min(start + batch, messages))]
        now = time.time()
        store.execute("BEGIN IMMEDIATE")
        store.executemany(  # stored leased to the worker of the process that took it in, as the hub does
            "INSERT INTO work (flow, position, message, attempts, available_at, lease_owner)"
            " VALUES ('orders', 0, ?, 0, ?, 'w')",
            [(json.dumps({**envelope, "id": o["id"], "body": o}), now + 30) for o in chunk],
        )
        last = store.execute("SELECT last_insert_rowid()").fetchone()[0]
        ids = list(range(last - len(chunk) + 1, last + 1))
        store.execute(
            "INSERT INTO flow_counts VALUES ('orders', ?, 0)"
            " ON CONFLICT (flow) DO UPDATE SET received = received + excluded.received",
            (len(chunk),),
        )
        store.execute("COMMIT")
        store.execute("PRAGMA synchronous=NORMAL")
        sink.execute("BEGIN IMMEDIATE")
        sink.executemany(
            "INSERT INTO orders (order_no, email, total) VALUES (?, ?, ?) ON CONFLICT (order_no) DO UPDATE"
            " SET email = excluded.email, total = excluded.total",
            [(o["id"], o["customer"]["email"], 20.0) for o in chunk],  # type: ignore[index]
        )
        sink.execute("COMMIT")
        store.execute("BEGIN IMMEDIATE")
        store.executemany("DELETE FROM work WHERE id = ?", [(i,) for i in ids])
        store.execute("UPDATE flow_counts SET delivered = delivered + ? WHERE flow = 'orders'", (len(ids),))
        store.execute("COMMIT")
        store.execute("PRAGMA synchronous=FULL")
    elapsed, used = time.perf_counter() - started, time.process_time() - cpu
    assert sink.execute("SELECT count(*) FROM orders").fetchone()[0] == messages
    return messages / elapsed, used / messages * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="write the table into docs/performance.md")
    args = parser.parse_args()
    gc.set_threshold(50_000, 50, 100)  # as `interlace run` does
    work = Path(tempfile.mkdtemp(prefix="interlace-bench-engine-"))
    where = machine()
    rows = []
    for r in range(args.rounds):
        first, second = (hub_run, floor_run) if r % 2 == 0 else (floor_run, hub_run)
        got = {f.__name__: f(work / f"{f.__name__}-{r}", args.messages) for f in (first, second)}
        (h_rate, h_cpu), (f_rate, f_cpu) = got["hub_run"], got["floor_run"]
        rows.append((h_rate, f_rate, h_cpu, f_cpu))
        print(f"round {r + 1}: Interlace {h_rate:,.0f} msg/s ({h_cpu:.3f} ms CPU/msg), floor {f_rate:,.0f} msg/s"
              f" ({f_cpu:.3f} ms CPU/msg): floor / Interlace {f_rate / h_rate:.2f}x", flush=True)  # fmt: skip
    slow = [f / h for h, f, _, _ in rows]
    text = [
        "## The engine in-process: enqueue to sink row, beside the same writes in raw sqlite3",
        f"`.venv/bin/python benchmarks/bench_engine.py --write` ({args.messages:,} orders, {PRODUCERS} producers,"
        f" {args.rounds} interleaved rounds; {where}).",
        "",
        "Interlace: a hub in one process without HTTP, 50 producers calling its ingress as the webhook does,"
        " the worker mapping and upserting into SQLite. The floor: raw sqlite3 writing the same rows per"
        " message (queue row stored leased to its worker and committed with synchronous=FULL, its removal with"
        " NORMAL as the hub does, sink upsert with NORMAL as the hub's SQLite sink, counters) in batches of"
        f" {PRODUCERS}, with none of the hub's Python work.",
        "",
        "| round | Interlace msg/s | floor msg/s | Interlace CPU/msg | floor CPU/msg | floor / Interlace |",
        "|---:|---:|---:|---:|---:|---:|",
        *(
            f"| {i + 1} | {h:,.0f} | {f:,.0f} | {hc:.3f} ms | {fc:.3f} ms | {f / h:.2f}x |"
            for i, (h, f, hc, fc) in enumerate(rows)
        ),
        "",
        f"Median: the hub takes **{statistics.median(slow):.2f}x** the floor's time per message, and"
        f" {statistics.median(hc / fc for _, _, hc, fc in rows):.1f}x its CPU.",
    ]
    print("\n".join(text))
    if args.write:
        write_section("engine", "\n".join(text))


if __name__ == "__main__":
    main()
