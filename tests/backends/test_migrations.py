"""Each store (SQLite, PostgreSQL) carries its schema version and is brought up to date when it opens."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from interlace.backends.base import NewWork
from interlace.backends.sqlite import MIGRATIONS, SCHEMA_VERSION, SqliteBackend
from interlace.message import Message

from support import require_service


def version(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


async def test_a_new_store_is_at_the_latest_version(tmp_path: Path) -> None:
    b = SqliteBackend(tmp_path / "hub.db")
    await b.open()
    await b.close()
    assert version(tmp_path / "hub.db") == SCHEMA_VERSION >= 2


async def test_a_store_from_before_versions_is_migrated_with_its_work(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    old = Message(flow="orders", body={"id": 1})
    with sqlite3.connect(path) as conn:  # the store as the first release wrote it: no user_version
        conn.executescript(MIGRATIONS[0])
        conn.execute(
            "INSERT INTO work (flow, position, message, attempts, available_at) VALUES ('orders', 0, ?, 0, 0)",
            (old.to_json(),),
        )
    assert version(path) == 0
    b = SqliteBackend(path)
    await b.open()
    try:
        assert version(path) == SCHEMA_VERSION
        assert await b.backlog() == {"orders": 1}, "the backlog counts the work that was already queued"
        [item] = await b.lease("w", 10, 30)
        assert item.message == old
        await b.enqueue([NewWork(Message(flow="orders"), idempotency_key="k", fingerprint="f1")])
        assert await b.backlog() == {"orders": 2}
    finally:
        await b.close()


async def test_a_store_from_a_newer_interlace_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(MIGRATIONS[0])
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(RuntimeError, match="newer than this Interlace knows"):
        await SqliteBackend(path).open()


async def test_counts_of_a_version_2_store_are_kept_per_day_from_the_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    with sqlite3.connect(path) as conn:
        for script in MIGRATIONS[:2]:
            conn.executescript(script)
        conn.execute("INSERT INTO flow_counts (flow, received) VALUES ('orders', 5)")
        conn.execute("PRAGMA user_version = 2")
    b = SqliteBackend(path)
    await b.open()
    try:
        assert await b.daily_counts() == [], "the days before the upgrade are not known"
        await b.enqueue([NewWork(Message(flow="orders"))])
        [day] = await b.daily_counts()
        assert (day.flow, day.received) == ("orders", 1)
        [total] = await b.counts()
        assert total.received == 6
    finally:
        await b.close()


# -- PostgreSQL: the same discipline, a schema_version table and an advisory lock ---------


@pytest.fixture
async def pg_schema() -> AsyncIterator[str]:
    from backends.stores import drop_schema

    require_service("postgres")
    schema = f"t_{uuid.uuid4().hex}"
    try:
        yield schema
    finally:
        await drop_schema(schema)


async def pg_version(schema: str) -> int:
    import asyncpg

    from backends.stores import PG_DSN

    conn = await asyncpg.connect(PG_DSN)
    try:
        return int(await conn.fetchval(f'SELECT version FROM "{schema}".schema_version'))
    finally:
        await conn.close()


async def test_a_new_postgresql_store_is_at_the_latest_version_once_however_many_open_it(pg_schema: str) -> None:
    from backends.stores import pg_url
    from interlace.backends.postgresql import SCHEMA_VERSION as PG_VERSION
    from interlace.backends.postgresql import PostgresBackend

    backends = [PostgresBackend(pg_url(pg_schema, pool=2)) for _ in range(4)]
    await asyncio.gather(*(b.open() for b in backends))  # processes starting together
    try:
        assert await pg_version(pg_schema) == PG_VERSION >= 1
        await backends[0].enqueue([NewWork(Message(flow="orders"))])
        assert await backends[3].backlog() == {"orders": 1}
    finally:
        await asyncio.gather(*(b.close() for b in backends))


async def test_a_postgresql_store_from_a_newer_interlace_is_refused(pg_schema: str) -> None:
    import asyncpg

    from backends.stores import PG_DSN, pg_url
    from interlace.backends.postgresql import SCHEMA_VERSION as PG_VERSION
    from interlace.backends.postgresql import PostgresBackend

    conn = await asyncpg.connect(PG_DSN)
    try:
        await conn.execute(f'CREATE SCHEMA "{pg_schema}"')
        await conn.execute(f'CREATE TABLE "{pg_schema}".schema_version (version integer NOT NULL)')
        await conn.execute(f'INSERT INTO "{pg_schema}".schema_version VALUES ({PG_VERSION + 1})')
    finally:
        await conn.close()
    with pytest.raises(RuntimeError, match="newer than this Interlace knows"):
        await PostgresBackend(pg_url(pg_schema)).open()
