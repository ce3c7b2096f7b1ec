"""Benchmark: delivered messages/s with 1, 2 and 4 `interlace worker` processes, on each backend
(SQLite, PostgreSQL, RabbitMQ as the bus with PostgreSQL as the store), with the ratio to the
SQLite backend in the same round.

Each run: a fresh store (a SQLite file, or a PostgreSQL schema of its own in database `test`; for
the bus, that and a quorum queue of its own on the machine's RabbitMQ) and a fresh sink table in
PostgreSQL (the same sink for every backend, so that only the store and bus differ); W worker
processes started and ready (their /health answers); then this process enqueues N orders through
the store (batches of 500, as a poller would) and the clock runs until the last is delivered (the
store has no pending work and the table N rows). The flow maps each order and upserts it by key;
`trace: false`, as a busy hub would run. Rounds are interleaved (backend and worker count take
turns) so that a change in the machine's load falls on all alike.

    .venv/bin/python benchmarks/bench_scale.py [--messages 20000] [--rounds 3] [--write]

The RabbitMQ runs use the machine's RabbitMQ on 5672 (a queue per run, deleted after it).

Run it only on a quiet machine (no /work/wt/QUIET file): the figures say the load beside them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg

from common import free_port, machine, wait_http, write_section
from interlace.backends import open_backend
from interlace.backends.base import NewWork
from interlace.message import Message

PG = "postgresql://postgres@127.0.0.1:5432/test"
AMQP = "amqp://127.0.0.1:5672/"
BIN = Path(sys.executable).parent
WORKERS = (1, 2, 4)
BACKENDS = ("sqlite", "postgresql", "rabbitmq")
NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL", "rabbitmq": "RabbitMQ + PostgreSQL"}

CONFIG = """
hub: {{name: scale, store: "{store}"{bus}, trace: false, lease: 30s, max_pending: 1000000}}
owners: {{ops: {{email: ops@example.test}}}}
systems:
  shop: {{connector: webhook}}
  sink: {{connector: postgres, dsn: "{pg}", pool: 4}}
flows:
  orders:
    trigger: {{system: shop}}
    steps:
      - map: '{{"order_no": id, "email": customer.email, "total": $sum(lines.(qty * price))}}'
    deliver: {{system: sink, table: {table}, mode: upsert, key: order_no}}
    on_error: {{owner: ops}}
"""


NOTES = [
    "Read with care: this machine has 2 cores, shared during the run with other people's test suites, and"
    " PostgreSQL, RabbitMQ and the sink run on the same cores, so more workers cannot show more throughput"
    " here, and the rounds differ by up to a factor of two. What the run does show: the PostgreSQL store"
    " costs a round trip per lease and a transaction per settled batch where SQLite writes a local file;"
    " RabbitMQ as the bus costs a share of that again on one small machine, because every item also"
    " takes a confirmed persistent publish (the quorum queue's Raft log is written and synced) and an ack,"
    " on the same two cores, besides the same PostgreSQL claim and settle; what it buys is work pushed to"
    " workers on other machines with no polling of the work table, and a broker restart ridden out. Every"
    " run checks the sink's row count: several processes on any backend neither lose nor duplicate an order.",
]
"""Said under the table every time it is written."""


def order(i: int) -> dict[str, object]:
    return {
        "id": f"o-{i}",
        "customer": {"email": f"c{i}@example.test"},
        "lines": [{"sku": f"S{j}", "qty": j + 1, "price": 2.5} for j in range(3)],
    }


async def pg(sql: str) -> object:
    conn = await asyncpg.connect(PG)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


def run(folder: Path, backend: str, workers: int, messages: int) -> float:
    """Delivered messages/s of one run."""
    folder.mkdir(parents=True)
    tag = uuid.uuid4().hex[:12]
    schema, table = f"bench_{tag}", f"bench_orders_{tag}"
    store = f"sqlite:///{folder / 'hub.db'}" if backend == "sqlite" else f"{PG}?schema={schema}"
    bus = AMQP if backend == "rabbitmq" else None
    asyncio.run(pg(f"CREATE TABLE {table} (order_no text PRIMARY KEY, email text, total numeric)"))
    (folder / "hub.yaml").write_text(
        CONFIG.format(store=store, bus=f', bus: "{bus}"' if bus else "", pg=PG, table=table)
    )
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for i in range(workers):
            port = free_port()
            argv = [str(BIN / "interlace"), "worker", str(folder / "hub.yaml"), "--port", str(port)]
            with (folder / f"worker-{i}.log").open("ab") as log:
                proc = subprocess.Popen([*argv, "--log-level", "warning"], cwd=folder, stdout=log, stderr=log)
            procs.append(proc)
            wait_http(f"http://127.0.0.1:{port}/health", procs[-1], timeout=120)

        async def load_and_wait() -> float:
            b = open_backend(store, base_dir=folder, bus=bus)
            await b.open()
            try:
                started = time.perf_counter()
                for start in range(0, messages, 500):
                    batch = [NewWork(Message(flow="orders", body=order(i))) for i in range(start, start + 500)]
                    await b.enqueue(batch[: messages - start])
                while await b.pending() > 0:
                    await asyncio.sleep(0.02)
                took = time.perf_counter() - started
            finally:
                await b.close()
            return took

        took = asyncio.run(load_and_wait())
        rows = asyncio.run(pg(f"SELECT count(*) FROM {table}"))
        assert rows == messages, f"{rows} of {messages} rows delivered"
        return messages / took
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        asyncio.run(pg(f"DROP TABLE IF EXISTS {table}"))
        if bus is not None:
            asyncio.run(delete_queues(f"interlace.{schema}"))
        if backend != "sqlite":
            asyncio.run(pg(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))


async def delete_queues(queue: str) -> None:
    import aiormq

    conn = await aiormq.connect(AMQP)
    try:
        channel = await conn.channel()
        for name in (queue, f"{queue}.poison"):
            await channel.queue_delete(name)
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="write the table into docs/performance.md")
    args = parser.parse_args()
    if Path("/work/wt/QUIET").exists():
        sys.exit("the machine is asked to be quiet (/work/wt/QUIET): no benchmark now")
    work = Path(tempfile.mkdtemp(prefix="interlace-bench-scale-"))
    where = machine()
    rates: dict[tuple[str, int], list[float]] = {}
    ratios: dict[tuple[str, int], list[float]] = {}
    n = 0
    for r in range(args.rounds):
        for w in WORKERS if r % 2 == 0 else reversed(WORKERS):
            order_ = BACKENDS[(r + w) % 3 :] + BACKENDS[: (r + w) % 3]  # each backend takes its turn first
            got = {}
            for backend in order_:
                n += 1
                got[backend] = run(work / f"{n}-{backend}-{w}", backend, w, args.messages)
                rates.setdefault((backend, w), []).append(got[backend])
            for backend in BACKENDS[1:]:
                ratios.setdefault((backend, w), []).append(got[backend] / got["sqlite"])
            print(
                f"round {r + 1}, {w} worker(s): "
                + ", ".join(f"{NAMES[b]} {got[b]:,.0f} msg/s" for b in BACKENDS)
                + "; / SQLite: "
                + ", ".join(f"{NAMES[b]} {ratios[b, w][-1]:.2f}x" for b in BACKENDS[1:]),
                flush=True,
            )
    end = os.getloadavg()
    median = statistics.median
    text = [
        "## Scale-out: delivered messages/s by worker processes, on each backend",
        f"`.venv/bin/python benchmarks/bench_scale.py --write` ({args.messages:,} orders per run, {args.rounds}"
        f" interleaved rounds; {where}, {end[0]:.2f} at the end).",
        "",
        "W `interlace worker` processes on one store; the orders are enqueued in batches of 500 once the workers"
        " are ready, mapped and upserted into one PostgreSQL table (the same sink for every backend); timed from"
        " the first enqueue to the last delivery. RabbitMQ + PostgreSQL: the PostgreSQL store with the work"
        " items' ids on a quorum queue of the machine's RabbitMQ (publisher confirms, manual acks, up to 25 ids"
        " a message, prefetch 32 messages)."
        " Median of the rounds; a ratio is the backend's rate over SQLite's in the same round.",
        "",
        "| workers | SQLite msg/s | PostgreSQL msg/s | RabbitMQ + PostgreSQL msg/s | PostgreSQL / SQLite"
        " | RabbitMQ + PostgreSQL / SQLite |",
        "|---:|---:|---:|---:|---:|---:|",
        *(
            f"| {w} | "
            + " | ".join(f"{median(rates[b, w]):,.0f}" for b in BACKENDS)
            + " | "
            + " | ".join(f"{median(ratios[b, w]):.2f}x" for b in BACKENDS[1:])
            + " |"
            for w in WORKERS
        ),
        "",
        "Every round, over SQLite: "
        + "; ".join(
            f"{w} worker(s) " + ", ".join(f"{NAMES[b]} " + " ".join(f"{x:.2f}x" for x in ratios[b, w])
                                          for b in BACKENDS[1:])
            for w in WORKERS
        )
        + ".",
        "",
        *NOTES,
    ]
    print("\n".join(text))
    if args.write:
        write_section("scale", "\n".join(text))


if __name__ == "__main__":
    main()
