"""Kill -9 of `interlace run` during a bulk sync (PostgreSQL -> PostgreSQL, chunks of rows),
then a restart: the sink table holds every row exactly once. The target has no unique key, so
a chunk copied twice would show as extra rows and a lost one as missing rows."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import asyncpg
import pytest

from support import HubProcess, free_port

CONFIG = """
hub: {{name: bulk, port: {port}, lease: 5s, workers: {workers}}}
owners: {{ops: {{email: ops@example.test}}}}
systems:
  legacy: {{connector: postgres, dsn: "{dsn}"}}
  erp: {{connector: postgres, dsn: "{dsn}"}}
flows:
  sync:
    trigger: {{system: legacy, table: {src}, cursor: id, bulk: true, chunk: {chunk}, every: 200ms}}
    deliver: {{system: erp, table: {dst}, mode: insert}}
    on_error: {{retry: {{attempts: 20, backoff: "100ms..1s"}}, owner: ops}}
"""


async def _sink_rows(conn: asyncpg.Connection, table: str) -> tuple[int, int]:
    total, distinct = await conn.fetchrow(f"SELECT count(*), count(DISTINCT id) FROM {table}")
    return int(total), int(distinct)


async def _wait_rows(conn: asyncpg.Connection, table: str, at_least: int, timeout: float) -> tuple[int, int]:
    deadline = time.monotonic() + timeout
    seen = await _sink_rows(conn, table)
    while seen[0] < at_least and time.monotonic() < deadline:
        time.sleep(0.02)
        seen = await _sink_rows(conn, table)
    return seen


async def _kill_and_restart(tmp_path: Path, dsn: str, rows: int, chunk: int, workers: int) -> None:
    src, dst = f"bulkc_src_{uuid.uuid4().hex[:8]}", f"bulkc_dst_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"CREATE TABLE {src} (id integer PRIMARY KEY, name text, qty integer)")
        await conn.execute(f"INSERT INTO {src} SELECT i, 'row ' || i, i % 97 FROM generate_series(1, {rows}) i")
        await conn.execute(f"CREATE TABLE {dst} (id integer, name text, qty integer)")  # no unique key
        port = free_port()
        config = tmp_path / "hub.yaml"
        config.write_text(CONFIG.format(port=port, dsn=dsn, src=src, dst=dst, chunk=chunk, workers=workers))

        hub = HubProcess(config, port)
        hub.start()
        try:
            assert (await _wait_rows(conn, dst, rows // 10, timeout=120))[0] >= rows // 10, "the sync did not start"
        finally:
            hub.kill()  # SIGKILL, mid-sync
        assert (await _sink_rows(conn, dst))[0] < rows, "the sync finished before the kill: nothing was tested"

        hub = HubProcess(config, port)
        hub.start()
        try:
            await _wait_rows(conn, dst, rows, timeout=300)
            time.sleep(2)  # anything delivered twice would arrive now
        finally:
            hub.stop()
        assert await _sink_rows(conn, dst) == (rows, rows)
        assert await conn.fetchval(f"SELECT count(*) FROM {dst} d JOIN {src} s USING (id, name, qty)") == rows
    finally:
        await conn.execute(f"DROP TABLE IF EXISTS {src}, {dst}")
        await conn.close()


async def test_kill_9_during_a_bulk_sync_loses_and_repeats_nothing(tmp_path: Path, pg_dsn: str) -> None:
    await _kill_and_restart(tmp_path, pg_dsn, rows=200_000, chunk=2_000, workers=2)


@pytest.mark.long
async def test_kill_9_during_a_million_row_bulk_sync(tmp_path: Path, pg_dsn: str) -> None:
    await _kill_and_restart(tmp_path, pg_dsn, rows=1_000_000, chunk=10_000, workers=8)
