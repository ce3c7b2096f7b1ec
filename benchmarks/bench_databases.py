"""Database loads side by side: Interlace's connectors, dlt, and plain COPY as the floor.

    .venv/bin/python benchmarks/bench_databases.py --rows 1000000

Two loads, each by every contender in the same run, into fresh tables of one PostgreSQL:
- PostgreSQL -> PostgreSQL: table `bench_src` (7 columns: bigint, text, int, numeric, timestamptz,
  boolean, text) into another table;
- CSV -> PostgreSQL: the same rows as a CSV file (all values text, typed on the way in).

Contenders:
- `copy`: `COPY ... TO STDOUT` piped into `COPY ... FROM STDIN` (binary), or `COPY FROM` the CSV
  file: the floor, nothing can be faster;
- `interlace`: the `postgres` connector's polling source (cursor `id`) -> an in-memory ingress ->
  `Message`s -> the `postgres` sink in `insert` mode (JSON coercion per value, COPY, and every
  delivery id recorded for effectively-once delivery, in the same transaction); CSV rows are read
  with the standard csv module and delivered by the same sink;
- `hub`: PostgreSQL -> PostgreSQL through `interlace run` (its SQLite store, its workers; traces
  off), timed from start to the last row;
- `bulk`: the same through `interlace run` with a bulk trigger (`bulk: true, chunk: 50000`): one
  message per chunk of rows, each chunk streamed with binary COPY from the source table into the
  target in the transaction that records its delivery id; timed from the process start (its
  start-up, about a second, included) to the last row;
- `csv/bulk`: CSV -> PostgreSQL through `interlace run` with a bulk `files` trigger (`bulk: true,
  chunk: 50000`): the file is moved to archive/, scanned for row boundaries (quote-aware), one
  message per chunk (a byte range); the postgres sink streams each range with COPY (FORMAT csv)
  in the transaction that records its delivery id; timed from the process start;
- `dlt` (pip install dlt[postgres]): a resource yielding pages of the same rows, loaded with the
  `csv` loader format (COPY; dlt's fastest for PostgreSQL), normalisation included.

Prints rows/s and the ratios the issue asks for (Interlace / dlt, Interlace / COPY, the same for
`hub`, `bulk` and `csv/bulk`); writes
the figures as JSON to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import gc
import json
import os
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg

from interlace.connectors.base import Incoming
from interlace.connectors.postgres import PostgresConnector, PostgresSettings
from interlace.connectors.sql.options import SqlSinkOptions, SqlSourceOptions
from interlace.message import Message
from interlace.types import JSON

COLUMNS = (
    "id bigint PRIMARY KEY, name text NOT NULL, qty integer, price numeric(10,2), "
    "placed timestamptz, active boolean, note text"
)
FILL = """
INSERT INTO bench_src
SELECT i, 'customer ' || i, i % 1000, (i % 100000) / 100.0,
       timestamptz '2024-01-01' + i * interval '1 second', i % 3 = 0, md5(i::text)
FROM generate_series(1, $1) AS i
"""
TARGETS = [
    "bench_copy_pg", "bench_copy_csv", "bench_interlace_pg", "bench_interlace_csv", "bench_hub_pg", "bench_bulk_pg",
    "bench_bulk_csv",
]  # fmt: skip
DLT_TYPES: Any = {
    "id": {"data_type": "bigint", "nullable": False}, "name": {"data_type": "text"},
    "qty": {"data_type": "bigint"}, "price": {"data_type": "decimal", "precision": 10, "scale": 2},
    "placed": {"data_type": "timestamp"}, "active": {"data_type": "bool"}, "note": {"data_type": "text"},
}  # fmt: skip


async def prepare(dsn: str, rows: int, csv_path: Path) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("DROP TABLE IF EXISTS bench_src, " + ", ".join(TARGETS))
        await conn.execute("DROP SCHEMA IF EXISTS bench_dlt_pg CASCADE; DROP SCHEMA IF EXISTS bench_dlt_csv CASCADE")
        if await conn.fetchval("SELECT to_regclass('_interlace_delivered') IS NOT NULL"):
            # delivery ids of earlier runs: removed, and their dead rows too (else every lookup wades through them)
            await conn.execute("DELETE FROM _interlace_delivered WHERE sink LIKE 'bench_%'")
            await conn.execute("VACUUM ANALYZE _interlace_delivered")
        for table in ["bench_src", *TARGETS]:
            await conn.execute(f"CREATE TABLE {table} ({COLUMNS})")
        await conn.execute(FILL, rows)
        await conn.execute("ANALYZE bench_src")
        await conn.copy_from_query(
            "SELECT * FROM bench_src ORDER BY id", output=str(csv_path), format="csv", header=True
        )
    finally:
        await conn.close()


async def count(dsn: str, table: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval(f"SELECT count(*) FROM {table}"))
    finally:
        await conn.close()


# -- the floor: COPY -------------------------------------------------------------------------


async def copy_pg(dsn: str) -> None:
    reader, writer = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    chunks: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=64)

    async def produce() -> None:
        await reader.copy_from_query("SELECT * FROM bench_src", output=chunks.put, format="binary")
        await chunks.put(None)

    async def consume() -> AsyncIterator[bytes]:
        while (chunk := await chunks.get()) is not None:
            yield chunk

    try:
        await asyncio.gather(produce(), writer.copy_to_table("bench_copy_pg", source=consume(), format="binary"))
    finally:
        await reader.close()
        await writer.close()


async def copy_csv(dsn: str, csv_path: Path) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.copy_to_table("bench_copy_csv", source=str(csv_path), format="csv", header=True)
    finally:
        await conn.close()


# -- Interlace: source -> ingress -> sink ----------------------------------------------------


class PipeIngress:
    """The hub's ingress as a pipe: each submitted batch becomes a batch of messages."""

    def __init__(self, queue: asyncio.Queue[list[tuple[Message, str]] | None]) -> None:
        self.queue = queue
        self.cursors: dict[str, JSON] = {}

    async def submit(
        self, flow: str, items: Any, *, cursor: tuple[str, JSON] | None = None, validate: bool = False
    ) -> list[str]:
        messages = [Message(flow=flow, key=i.key, body=i.body) for i in items]
        batch = [(m, f"{m.id}:{flow}:0") for m in messages]  # delivery ids as the hub's worker names them
        await self.queue.put(batch)
        if cursor is not None:
            self.cursors[cursor[0]] = cursor[1]
        return [m.id for m, _ in batch]

    async def load_cursor(self, name: str) -> JSON:
        return self.cursors.get(name)

    def flows_for(self, system: str, event: str | None) -> list[str]:
        return []

    async def receive(self, system: str, event: str | None, item: Incoming) -> dict[str, str]:
        raise NotImplementedError


async def deliver_all(
    dsn: str, table: str, produce: Callable[[asyncio.Queue[list[tuple[Message, str]] | None]], Awaitable[None]]
) -> None:
    sink_conn = PostgresConnector("target", PostgresSettings(dsn=dsn))
    sink = sink_conn.sink(SqlSinkOptions(table=table, mode="insert"))
    queue: asyncio.Queue[list[tuple[Message, str]] | None] = asyncio.Queue(maxsize=4)

    async def consume() -> None:
        while (batch := await queue.get()) is not None:
            failed = [r for r in await sink.deliver_many(batch) if isinstance(r, Exception)]
            if failed:
                raise RuntimeError(f"{len(failed)} rows failed, first: {failed[0]}")
        await queue.put(None)  # tell the other consumer

    try:  # two deliveries in flight, as the hub's workers would have them
        await asyncio.gather(produce(queue), consume(), consume())
    finally:
        await sink_conn.close()


async def interlace_pg(dsn: str, batch: int) -> None:
    source_conn = PostgresConnector("origin", PostgresSettings(dsn=dsn))
    source = source_conn.source("bench", SqlSourceOptions(table="bench_src", cursor="id", batch=batch))

    async def produce(queue: asyncio.Queue[list[tuple[Message, str]] | None]) -> None:
        ingress = PipeIngress(queue)
        while await source.poll(ingress) == batch:
            pass
        await queue.put(None)

    try:
        await deliver_all(dsn, "bench_interlace_pg", produce)
    finally:
        await source_conn.close()


async def interlace_csv(dsn: str, csv_path: Path, batch: int) -> None:
    async def produce(queue: asyncio.Queue[list[tuple[Message, str]] | None]) -> None:
        with csv_path.open(newline="") as f:
            reader = csv.DictReader(f)
            page: list[tuple[Message, str]] = []
            for row in reader:
                body = {k: (v if v != "" else None) for k, v in row.items()}
                message = Message(flow="csv", key=body["id"], body=body)
                page.append((message, f"{message.id}:csv:0"))
                if len(page) == batch:
                    await queue.put(page)
                    page = []
            if page:
                await queue.put(page)
        await queue.put(None)

    await deliver_all(dsn, "bench_interlace_csv", produce)


# -- the whole hub: `interlace run` -----------------------------------------------------------

HUB_CONFIG = """
hub: {{name: bench, port: {port}, store: "sqlite:///{store}", workers: 64, trace: false}}
owners: {{ops: {{email: ops@example.test}}}}
systems:
  origin: {{connector: postgres, dsn: "{dsn}"}}
  target: {{connector: postgres, dsn: "{dsn}"}}
flows:
  copy:
    trigger: {{system: origin, table: bench_src, cursor: id, batch: {batch}, every: 100ms}}
    deliver: {{system: target, table: bench_hub_pg, mode: insert}}
    on_error: {{owner: ops}}
"""


BULK_CONFIG = """
hub: {{name: bench, port: {port}, store: "sqlite:///{store}", workers: 64, trace: false}}
owners: {{ops: {{email: ops@example.test}}}}
systems:
  origin: {{connector: postgres, dsn: "{dsn}", pool: {pool}}}
  target: {{connector: postgres, dsn: "{dsn}", pool: {pool}}}
flows:
  copy:
    trigger: {{system: origin, table: bench_src, cursor: id, bulk: true, chunk: {chunk}, every: 100ms}}
    deliver: {{system: target, table: bench_bulk_pg, mode: insert}}
    on_error: {{owner: ops}}
"""


CSV_BULK_CONFIG = """
hub: {{name: bench, port: {port}, store: "sqlite:///{store}", workers: 64, trace: false}}
owners: {{ops: {{email: ops@example.test}}}}
systems:
  drop: {{connector: files, path: "{drop}", format: csv}}
  target: {{connector: postgres, dsn: "{dsn}", pool: {pool}}}
flows:
  load:
    trigger: {{system: drop, pattern: "*.csv", bulk: true, chunk: {chunk}, poll_interval: 0.05}}
    deliver: {{system: target, table: bench_bulk_csv, mode: insert}}
    on_error: {{owner: ops}}
"""


STARTUP: dict[str, float] = {}
"""Seconds from starting `interlace run` until it answered /health (included in its load's time)."""


async def run_hub(name: str, port: int, config_text: str, workdir: Path, done: str, every: float) -> None:
    """`interlace run` of a config as a real process, until the query `done` answers true."""
    import subprocess
    import sys
    import urllib.request

    config = workdir / f"{name.replace('/', '_')}.yaml"
    config.write_text(config_text)
    binary = Path(sys.executable).parent / "interlace"
    start = time.perf_counter()
    proc = subprocess.Popen([str(binary), "run", str(config), "--log-level", "warning"], cwd=workdir)
    conn = await asyncpg.connect(dsn_of(config_text))
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                    break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(f"interlace run exited with {proc.returncode}") from None
                await asyncio.sleep(0.01)
        STARTUP[name] = time.perf_counter() - start
        while not await _answer(conn, done):
            if proc.poll() is not None:
                raise RuntimeError(f"interlace run exited with {proc.returncode}")
            await asyncio.sleep(every)
    finally:
        await conn.close()
        proc.terminate()
        proc.wait(timeout=30)


async def _answer(conn: asyncpg.Connection, query: str) -> bool:
    try:
        return bool(await conn.fetchval(query))
    except asyncpg.UndefinedTableError:  # the hub has not created its dedupe table yet
        return False


def dsn_of(config_text: str) -> str:
    return config_text.split('dsn: "', 1)[1].split('"', 1)[0]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def hub_pg(dsn: str, rows: int, batch: int, workdir: Path) -> None:
    """The same load through `interlace run` (store, workers, traces off) as a real process."""
    port = free_port()
    text = HUB_CONFIG.format(port=port, store=workdir / "hub.db", dsn=dsn, batch=batch)
    await run_hub("pg/hub", port, text, workdir, f"SELECT count(*) >= {rows} FROM bench_hub_pg", 0.2)


async def bulk_pg(dsn: str, rows: int, chunk: int, pool: int, workdir: Path) -> None:
    """The same load through `interlace run` with a bulk trigger: chunks, not rows. Done when
    every chunk's delivery id is recorded (with its rows, in one transaction): a cheap query,
    where counting the target's rows 50 times a second would compete with the load."""
    port = free_port()
    text = BULK_CONFIG.format(port=port, store=workdir / "bulk.db", dsn=dsn, chunk=chunk, pool=pool)
    chunks = -(-rows // chunk)
    done = f"SELECT count(*) >= {chunks} FROM _interlace_delivered WHERE sink = 'bench_bulk_pg'"
    await run_hub("pg/bulk", port, text, workdir, done, 0.02)


async def bulk_csv(dsn: str, csv_path: Path, rows: int, chunk: int, pool: int, workdir: Path) -> None:
    """CSV -> PostgreSQL through `interlace run` with a bulk `files` trigger: the file (already in
    the watched folder) is moved to archive/, scanned for chunk boundaries, and each chunk's byte
    range is streamed with COPY (FORMAT csv) by the postgres sink. Timed from the process start."""
    drop = workdir / "drop"
    drop.mkdir(exist_ok=True)
    os.link(csv_path, drop / "bench.csv")
    port = free_port()
    text = CSV_BULK_CONFIG.format(
        port=port, store=workdir / "bulk_csv.db", drop=drop, dsn=dsn, chunk=chunk, pool=pool
    )
    chunks = -(-rows // chunk)
    done = f"SELECT count(*) >= {chunks} FROM _interlace_delivered WHERE sink = 'bench_bulk_csv'"
    await run_hub("csv/bulk", port, text, workdir, done, 0.02)


# -- dlt -----------------------------------------------------------------------------------------


def dlt_load(dsn: str, dataset: str, rows: Callable[[], Iterator[list[dict[str, Any]]]], workdir: Path) -> None:
    import dlt

    resource = dlt.resource(rows, name="rows", write_disposition="append", columns=DLT_TYPES)
    # dlt's PostgreSQL credentials need a password even where the server trusts the client
    creds = dsn.replace("postgresql://postgres@", "postgresql://postgres:unused@")
    pipeline = dlt.pipeline(
        pipeline_name=f"interlace_{dataset}", destination=dlt.destinations.postgres(creds),
        dataset_name=dataset, pipelines_dir=str(workdir),
    )  # fmt: skip
    pipeline.run(resource(), loader_file_format="csv")


def dlt_pg(dsn: str, batch: int, workdir: Path) -> None:
    import psycopg2  # type: ignore[import-untyped]
    import psycopg2.extras  # type: ignore[import-untyped]

    def rows() -> Iterator[list[dict[str, Any]]]:
        with psycopg2.connect(dsn) as conn, conn.cursor("bench", cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            cur.itersize = batch
            cur.execute("SELECT * FROM bench_src")
            while page := cur.fetchmany(batch):
                yield [dict(r) for r in page]

    dlt_load(dsn, "bench_dlt_pg", rows, workdir)


def dlt_csv(dsn: str, csv_path: Path, batch: int, workdir: Path) -> None:
    def rows() -> Iterator[list[dict[str, Any]]]:
        with csv_path.open(newline="") as f:
            page: list[dict[str, Any]] = []
            for row in csv.DictReader(f):
                page.append({k: (v if v != "" else None) for k, v in row.items()})
                if len(page) == batch:
                    yield page
                    page = []
            if page:
                yield page

    dlt_load(dsn, "bench_dlt_csv", rows, workdir)


# -- the run -------------------------------------------------------------------------------------


CPU: dict[str, float] = {}
"""CPU seconds of this process per load (not the database server's, nor the hub process's)."""


async def timed(name: str, work: Awaitable[None], results: dict[str, float]) -> None:
    print(f"  {name} ...", end="", flush=True)
    start, cpu = time.perf_counter(), time.process_time()
    await work
    results[name] = time.perf_counter() - start
    CPU[name] = time.process_time() - cpu
    print(f" {results[name]:.2f}s", flush=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=10_000, help="rows per poll / delivery batch")
    parser.add_argument("--dsn", default=os.environ.get("BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--no-dlt", action="store_true", help="skip dlt (when it is not installed)")
    parser.add_argument("--no-hub", action="store_true", help="skip the load through `interlace run`")
    parser.add_argument("--chunk", type=int, default=50_000, help="rows per chunk of the bulk sync")
    parser.add_argument("--pool", type=int, default=5, help="connections per system of the bulk sync")
    parser.add_argument(
        "--gc", default=None, help="gc.set_threshold for this process, e.g. 50000,50,100 (default: Python's)"
    )
    args = parser.parse_args()
    if args.gc:
        gc.set_threshold(*(int(n) for n in args.gc.split(",")))
    print(f"gc thresholds {gc.get_threshold()}, batch {args.batch}")

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        csv_path = work / "bench.csv"
        print(f"preparing {args.rows:,} rows ...", flush=True)
        await prepare(args.dsn, args.rows, csv_path)
        times: dict[str, float] = {}
        print("PostgreSQL -> PostgreSQL")
        await timed("pg/copy", copy_pg(args.dsn), times)
        await timed("pg/interlace", interlace_pg(args.dsn, args.batch), times)
        if not args.no_dlt:
            await timed("pg/dlt", asyncio.to_thread(dlt_pg, args.dsn, args.batch, work), times)
        if not args.no_hub:
            await timed("pg/hub", hub_pg(args.dsn, args.rows, args.batch, work), times)
        await timed("pg/bulk", bulk_pg(args.dsn, args.rows, args.chunk, args.pool, work), times)
        print("CSV -> PostgreSQL")
        await timed("csv/copy", copy_csv(args.dsn, csv_path), times)
        await timed("csv/interlace", interlace_csv(args.dsn, csv_path, args.batch), times)
        if not args.no_dlt:
            await timed("csv/dlt", asyncio.to_thread(dlt_csv, args.dsn, csv_path, args.batch, work), times)
        await timed("csv/bulk", bulk_csv(args.dsn, csv_path, args.rows, args.chunk, args.pool, work), times)

    loaded = {
        "pg/copy": "bench_copy_pg", "csv/copy": "bench_copy_csv", "pg/interlace": "bench_interlace_pg",
        "csv/interlace": "bench_interlace_csv", "pg/dlt": "bench_dlt_pg.rows", "csv/dlt": "bench_dlt_csv.rows",
        "pg/hub": "bench_hub_pg", "pg/bulk": "bench_bulk_pg", "csv/bulk": "bench_bulk_csv",
    }  # fmt: skip
    for name in times:
        got = await count(args.dsn, loaded[name])
        if got != args.rows:
            raise SystemExit(f"{name} loaded {got} rows, not {args.rows}")

    print(f"\n{'load':<16}{'seconds':>10}{'rows/s':>12}{'client CPU s':>14}{'start-up s':>12}")
    for name, seconds in times.items():
        cpu = "" if name in STARTUP else f"{CPU[name]:.2f}"
        startup = f"{STARTUP[name]:.2f}" if name in STARTUP else ""
        print(f"{name:<16}{seconds:>10.2f}{args.rows / seconds:>12,.0f}{cpu:>14}{startup:>12}")
    ratios: dict[str, float] = {}
    for load in ("pg", "csv"):
        if f"{load}/dlt" in times:
            ratios[f"{load}: interlace speed / dlt"] = times[f"{load}/dlt"] / times[f"{load}/interlace"]
        ratios[f"{load}: interlace time / copy"] = times[f"{load}/interlace"] / times[f"{load}/copy"]
    if "pg/hub" in times:
        if "pg/dlt" in times:
            ratios["pg: hub speed / dlt"] = times["pg/dlt"] / times["pg/hub"]
        ratios["pg: hub time / copy"] = times["pg/hub"] / times["pg/copy"]
    if "pg/dlt" in times:
        ratios["pg: bulk speed / dlt"] = times["pg/dlt"] / times["pg/bulk"]
    ratios["pg: bulk time / copy"] = times["pg/bulk"] / times["pg/copy"]
    ratios["pg: bulk time after start-up / copy"] = (times["pg/bulk"] - STARTUP["pg/bulk"]) / times["pg/copy"]
    if "csv/dlt" in times:
        ratios["csv: bulk speed / dlt"] = times["csv/dlt"] / times["csv/bulk"]
    ratios["csv: bulk time / copy"] = times["csv/bulk"] / times["csv/copy"]
    ratios["csv: bulk time after start-up / copy"] = (times["csv/bulk"] - STARTUP["csv/bulk"]) / times["csv/copy"]
    print()
    for name, ratio in ratios.items():
        print(f"{name:<34}{ratio:>6.2f}x")
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    report = {
        "rows": args.rows, "batch": args.batch, "chunk": args.chunk, "pool": args.pool,
        "gc": gc.get_threshold(), "seconds": times, "client_cpu": CPU, "startup": STARTUP,
        "ratios": ratios,
    }  # fmt: skip
    (out / f"bench_databases_{args.rows}.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
