"""PostgreSQL specifics: COPY bulk writes, and change capture that never skips a late commit."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
import pytest

from interlace.connectors.postgres import PostgresConnector, PostgresSettings
from interlace.connectors.sql.coerce import ValueNotStorable
from interlace.connectors.sql.options import SqlSinkOptions, SqlSourceOptions
from interlace.errors import DeliveryError
from interlace.message import Message

if TYPE_CHECKING:
    from tests.connectors.conftest import Engine, MemoryIngress


@pytest.fixture
async def pg(engines: Callable[[str], Engine], cleanup: list[Engine]) -> Engine:
    engine = engines("postgres")
    cleanup.append(engine)
    return engine


def batch(bodies: list[dict[str, object]], prefix: str = "d") -> list[tuple[Message, str]]:
    return [(Message(flow="f", body=b), f"{prefix}{i}") for i, b in enumerate(bodies)]


async def test_copy_insert_with_bad_rows(pg: Engine) -> None:
    table = await pg.create(pg.table_name(), {"id": "pk", "name": "text", "meta": "int"})
    await pg.run(f"ALTER TABLE {table} ALTER COLUMN meta TYPE jsonb USING NULL")
    await pg.run(f"INSERT INTO {table} (id, name) VALUES (?, ?)", 250, "already there")
    sink = pg.connector.sink(SqlSinkOptions(table=table, mode="insert"))
    bodies: list[dict[str, object]] = [{"id": i, "name": f"n{i}", "meta": {"i": i}} for i in range(500)]
    bodies[7]["id"] = "seven"
    results = await sink.deliver_many(batch(bodies))
    assert isinstance(results[7], ValueNotStorable) and results[7].column == "id"
    assert isinstance(results[250], DeliveryError) and "250" in str(results[250])  # refused by the database
    assert sum(isinstance(r, dict) for r in results) == 498
    rows = await pg.rows(table)
    assert len(rows) == 499 and rows[1]["meta"] == {"i": 1}
    again = await sink.deliver_many(batch(bodies))
    assert sum(r == {"status": "duplicate"} for r in again) == 498
    await pg.run(f"DELETE FROM {table} WHERE id = ?", 250)  # the conflict resolved, the refused row goes in
    assert (await sink.deliver_many(batch(bodies)))[250] == {"status": "inserted"}


async def test_copy_upsert_last_write_wins(pg: Engine) -> None:
    table = await pg.create(pg.table_name(), {"id": "pk", "name": "text"})
    sink = pg.connector.sink(SqlSinkOptions(table=table, mode="upsert", key="id"))
    bodies: list[dict[str, object]] = [{"id": i % 150, "name": f"v{i}"} for i in range(300)]
    assert all(isinstance(r, dict) for r in await sink.deliver_many(batch(bodies)))
    rows = await pg.rows(table)
    assert len(rows) == 150 and rows[0]["name"] == "v150" and rows[149]["name"] == "v299"


async def test_capture_waits_for_a_transaction_that_commits_late(
    pg: Engine, ingress: MemoryIngress, pg_dsn: str
) -> None:
    table = await pg.create(pg.table_name(), {"id": "pk", "name": "text"})
    await pg.connector.install_capture(table)
    source = pg.connector.source("cdc", SqlSourceOptions(table=table, capture=True))
    slow = await asyncpg.connect(pg_dsn)
    try:
        tx = slow.transaction()
        await tx.start()
        await slow.execute(f"INSERT INTO {table} (id, name) VALUES (1, 'slow')")  # outbox id taken first
        await pg.run(f"INSERT INTO {table} (id, name) VALUES (?, ?)", 2, "fast")  # commits first
        assert await source.poll(ingress) == 0  # not past the open transaction
        await tx.commit()
    finally:
        await slow.close()
    assert await source.poll(ingress) == 2
    assert [item.body["name"] for _, item in ingress.items] == ["slow", "fast"]


async def test_capture_is_not_held_up_by_unrelated_transactions(
    pg: Engine, ingress: MemoryIngress, pg_dsn: str
) -> None:
    table = await pg.create(pg.table_name(), {"id": "pk", "name": "text"})
    other = await pg.create(pg.table_name(), {"id": "pk", "name": "text"})
    await pg.connector.install_capture(table)
    source = pg.connector.source("cdc", SqlSourceOptions(table=table, capture=True))
    idle = await asyncpg.connect(pg_dsn)
    try:
        tx = idle.transaction()
        await tx.start()
        await idle.execute(f"INSERT INTO {other} (id, name) VALUES (1, 'open for long')")  # holds an xid
        await pg.run(f"INSERT INTO {table} (id, name) VALUES (?, ?)", 1, "captured")
        assert await source.poll(ingress) == 1
        await tx.rollback()
    finally:
        await idle.close()


async def _listening(source: Any, pg: Engine) -> None:
    """Until the source's listening connection has run its LISTEN (a notification sent before
    that would be missed, and the next poll is a minute away)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        listener = source._listener
        if listener is not None:
            db = await pg.connector.database()
            rows = await db.fetch("SELECT query FROM pg_stat_activity WHERE pid = $1", [listener.get_server_pid()])
            if rows and str(rows[0]["query"]).upper().startswith("LISTEN"):
                return
        await asyncio.sleep(0.05)
    raise AssertionError("the capture source does not listen")


async def test_capture_wakes_on_notify(pg: Engine, ingress: MemoryIngress) -> None:
    table = await pg.create(pg.table_name(), {"id": "pk", "name": "text"})
    await pg.connector.install_capture(table)
    source = pg.connector.source("cdc", SqlSourceOptions(table=table, capture=True, every="60s"))
    task = asyncio.create_task(source.run(ingress))
    try:
        await _listening(source, pg)  # the source has read nothing and is listening
        await pg.run(f"INSERT INTO {table} (id, name) VALUES (?, ?)", 1, "now")
        await pg.run(f"DELETE FROM {table} WHERE id = ?", 1)
        deadline = time.monotonic() + 30  # well under the 60 s poll: only the notification can wake it
        while len(ingress.items) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert [item.event for _, item in ingress.items] == ["insert", "delete"]
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_setup_script_and_probe(tmp_path: Path, pg_dsn: str) -> None:
    script = tmp_path / "setup.sql"
    script.write_text("CREATE TABLE IF NOT EXISTS interlace_setup_probe (id int);\nSELECT 1;\n")
    connector = PostgresConnector("pg", PostgresSettings(dsn=pg_dsn, setup=str(script)))
    try:
        await connector.probe()
        assert "interlace_setup_probe" in {t.name for t in await connector.inspect()}
    finally:
        db = await connector.database()
        await db.fetch("DROP TABLE interlace_setup_probe")
        await connector.close()


async def test_first_deliveries_at_once_create_the_delivered_table_once(pg_dsn: str) -> None:
    """Many sinks' first `insert` deliveries at the same moment, into a schema without the
    dedupe table: PostgreSQL fails concurrent CREATE TABLE IF NOT EXISTS of one name (a unique
    violation in its catalog) unless they take turns; every delivery must land."""
    schema = f"fresh_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(pg_dsn)
    await admin.execute(f"CREATE SCHEMA {schema}")
    connectors = [
        PostgresConnector(f"pg{i}", PostgresSettings(dsn=f"{pg_dsn}?search_path={schema}")) for i in range(4)
    ]
    try:
        tables = [f"t{i}" for i in range(8)]
        for table in tables:
            await admin.execute(f"CREATE TABLE {schema}.{table} (id int PRIMARY KEY)")
        sinks = [
            connectors[i % len(connectors)].sink(SqlSinkOptions(table=table, mode="insert"))
            for i, table in enumerate(tables)
        ]
        results = await asyncio.gather(
            *(s.deliver_many(batch([{"id": i}], prefix=f"s{n}-{i}-")) for n, s in enumerate(sinks) for i in range(3)),
        )
        failed = [r for rs in results for r in rs if isinstance(r, Exception)]
        assert failed == []
        assert await admin.fetchval(f"SELECT count(*) FROM {schema}._interlace_delivered") == 24
    finally:
        for connector in connectors:
            await connector.close()
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()
