"""Kill -9 of the hub during a 100,000-row table sync (PostgreSQL -> SQLite), then a restart:
the sink table holds every row exactly once. It has no unique key, so a second delivery would
show as a second row and a lost one as a missing row."""

from __future__ import annotations

import sqlite3
import time
import uuid
from pathlib import Path

import asyncpg
import pytest

from support import HubProcess, free_port

ROWS = 100_000
CONFIG = """
hub: {{name: sync, port: {port}, lease: 2s, workers: 32}}
owners: {{ops: {{email: ops@example.test}}}}
systems:
  legacy: {{connector: postgres, dsn: "{dsn}"}}
  erp: {{connector: sqlite, path: ./erp.db, setup: ./schema.sql}}
flows:
  sync:
    trigger: {{system: legacy, table: {table}, cursor: id, key: id, batch: 2000, every: 200ms}}
    deliver: {{system: erp, table: copy, mode: insert}}
    on_error: {{retry: {{attempts: 20, backoff: "100ms..1s"}}, owner: ops}}
"""


def sink_rows(db: Path) -> tuple[int, int]:
    if not db.exists():
        return 0, 0
    try:
        with sqlite3.connect(db, timeout=10) as conn:
            total, distinct = conn.execute("SELECT count(*), count(DISTINCT id) FROM copy").fetchone()
            return int(total), int(distinct)
    except sqlite3.OperationalError:  # the hub has not created the table yet
        return 0, 0


def wait_rows(db: Path, at_least: int, timeout: float) -> tuple[int, int]:
    deadline = time.monotonic() + timeout
    seen = sink_rows(db)
    while seen[0] < at_least and time.monotonic() < deadline:
        time.sleep(0.05)
        seen = sink_rows(db)
    return seen


@pytest.mark.long
async def test_kill_9_during_a_table_sync_loses_and_repeats_nothing(tmp_path: Path, pg_dsn: str) -> None:
    table = f"crash_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(pg_dsn)
    try:
        await conn.execute(f"CREATE TABLE {table} (id integer PRIMARY KEY, name text, qty integer)")
        await conn.execute(f"INSERT INTO {table} SELECT i, 'row ' || i, i % 97 FROM generate_series(1, {ROWS}) i")
        (tmp_path / "schema.sql").write_text("CREATE TABLE IF NOT EXISTS copy (id INTEGER, name TEXT, qty INTEGER);")
        port = free_port()
        config = tmp_path / "hub.yaml"
        config.write_text(CONFIG.format(port=port, dsn=pg_dsn, table=table))
        db = tmp_path / "erp.db"

        hub = HubProcess(config, port)
        hub.start()
        try:
            assert wait_rows(db, ROWS // 5, timeout=120)[0] >= ROWS // 5, "the sync did not start"
        finally:
            hub.kill()  # SIGKILL, mid-sync
        assert sink_rows(db)[0] < ROWS, "the sync finished before the kill: nothing was tested"

        hub = HubProcess(config, port)
        hub.start()
        try:
            wait_rows(db, ROWS, timeout=300)
            time.sleep(2)  # anything delivered twice would arrive now
        finally:
            hub.stop()
        assert sink_rows(db) == (ROWS, ROWS)
    finally:
        await conn.execute(f"DROP TABLE IF EXISTS {table}")
        await conn.close()
