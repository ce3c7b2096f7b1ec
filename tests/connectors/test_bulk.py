"""Bulk sync PostgreSQL -> PostgreSQL: one message per chunk of rows, COPY from table to table,
effectively-once per chunk; and the config checks that keep it to flows it can serve."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from interlace.config.loader import load_config
from interlace.connectors import bulk as shared_bulk
from interlace.connectors.postgres import PostgresConnector, PostgresSettings, PostgresSourceOptions, bulk
from interlace.connectors.sql.options import SqlSinkOptions
from interlace.errors import ConfigError, DeliveryError
from interlace.message import Message

from .conftest import MemoryIngress

ROWS = 20_000


@pytest.fixture
async def pg(pg_dsn: str) -> AsyncIterator[tuple[asyncpg.Connection, str, str]]:
    """A source table of ROWS rows and an empty target with the same columns (types differing)."""
    conn = await asyncpg.connect(pg_dsn)
    src, dst = f"bulk_src_{uuid.uuid4().hex[:8]}", f"bulk_dst_{uuid.uuid4().hex[:8]}"
    await conn.execute(
        f"CREATE TABLE {src} (id integer PRIMARY KEY, name text NOT NULL, price numeric(10,2), "
        "placed timestamptz, active boolean, extra text)"
    )
    await conn.execute(
        f"INSERT INTO {src} SELECT i, 'row ' || i, i / 100.0, timestamptz '2024-01-01' + i * interval '1 minute', "
        f"i % 2 = 0, 'x' FROM generate_series(1, {ROWS}) i"
    )
    await conn.execute(
        f"CREATE TABLE {dst} (id bigint PRIMARY KEY, name text NOT NULL, price numeric(12,2), "
        "placed timestamptz, active boolean, loaded timestamptz DEFAULT now())"
    )
    try:
        yield conn, src, dst
    finally:
        await conn.execute(f"DROP TABLE IF EXISTS {src}, {dst}")
        await conn.close()


async def _chunks(source: Any, ingress: MemoryIngress) -> list[tuple[Message, str]]:
    while await source.poll(ingress):
        pass
    return [
        (
            Message(flow="sync", source="legacy", event=item.event, key=item.key, body=item.body),
            f"d-{item.idempotency_key}",
        )
        for _, item in ingress.items
    ]


def _connectors(dsn: str) -> tuple[PostgresConnector, PostgresConnector]:
    return PostgresConnector("legacy", PostgresSettings(dsn=dsn)), PostgresConnector("erp", PostgresSettings(dsn=dsn))


async def test_a_bulk_sync_lands_every_row_exactly_once(pg: tuple[asyncpg.Connection, str, str], pg_dsn: str) -> None:
    conn, src, dst = pg
    origin, target = _connectors(pg_dsn)
    try:
        options = PostgresSourceOptions(table=src, cursor="id", bulk=True, chunk=3_000)
        ingress = MemoryIngress()
        chunks = await _chunks(origin.source("sync", options), ingress)
        assert len(chunks) == 7  # 6 x 3,000 + 2,000: one message per chunk, not per row
        first = chunks[0][0]
        assert first.event == "chunk" and shared_bulk.kind_of(first) == "rows"
        assert first.body == {
            "interlace_chunk": 1, "kind": "rows", "system": "legacy", "source": bulk.fingerprint(pg_dsn), "table": src,
            "cursor": "id", "low": None, "high": 3000, "rows": 3000,
        }  # fmt: skip
        assert ingress.cursors["sql:legacy:sync"] == ROWS  # stored with the last chunk

        sink = target.sink(SqlSinkOptions(table=dst, mode="insert"))
        results = await sink.deliver_many(chunks)
        failed = [repr(r) + repr(r.__cause__) for r in results if isinstance(r, Exception)]
        assert not failed, failed
        assert [r["rows"] for r in results] == [3000] * 6 + [2000]
        assert all(r["status"] == "inserted" for r in results)
        total, distinct, mismatched = await conn.fetchrow(
            f"SELECT count(*), count(DISTINCT d.id), count(*) FILTER (WHERE (s.name, s.price, s.placed, s.active) "
            f"IS DISTINCT FROM (d.name, d.price, d.placed, d.active)) FROM {dst} d JOIN {src} s ON s.id = d.id"
        )
        assert (total, distinct, mismatched) == (ROWS, ROWS, 0)

        # new rows past the cursor: the next poll finds one more chunk, and only it
        await conn.execute(
            f"INSERT INTO {src} SELECT i, 'new', 1, now(), true, '' FROM generate_series({ROWS + 1}, {ROWS + 10}) i"
        )
        ingress.items = []
        more = await _chunks(origin.source("sync", options), ingress)
        assert [m.body["low"] for m, _ in more] == [ROWS]
        await sink.deliver_many(more)
        assert await conn.fetchval(f"SELECT count(*) FROM {dst}") == ROWS + 10
    finally:
        await origin.close()
        await target.close()


async def test_a_chunk_delivered_twice_adds_nothing(pg: tuple[asyncpg.Connection, str, str], pg_dsn: str) -> None:
    conn, src, dst = pg
    origin, target = _connectors(pg_dsn)
    try:
        options = PostgresSourceOptions(table=src, cursor="id", bulk=True, chunk=ROWS)
        (chunk,) = await _chunks(origin.source("sync", options), MemoryIngress())
        sink = target.sink(SqlSinkOptions(table=dst, mode="insert"))
        assert (await sink.deliver(*chunk))["status"] == "inserted"
        # the same chunk again (a worker died before its ack): no-op, and no unique violation
        assert (await sink.deliver(*chunk))["status"] == "duplicate"
        again = await sink.deliver_many([chunk, chunk])
        assert [r["status"] for r in again] == ["duplicate", "duplicate"]
        assert await conn.fetchval(f"SELECT count(*) FROM {dst}") == ROWS
    finally:
        await origin.close()
        await target.close()


async def test_upsert_and_update_go_through_a_staging_table(
    pg: tuple[asyncpg.Connection, str, str], pg_dsn: str
) -> None:
    conn, src, dst = pg
    origin, target = _connectors(pg_dsn)
    try:
        await conn.execute(f"INSERT INTO {dst} (id, name) VALUES (1, 'old'), (2, 'old')")
        options = PostgresSourceOptions(table=src, cursor="id", bulk=True, chunk=5_000)
        chunks = await _chunks(origin.source("sync", options), MemoryIngress())
        upsert = target.sink(SqlSinkOptions(table=dst, mode="upsert", key="id", columns=["name"]))
        results = await upsert.deliver_many(chunks)
        assert {r["status"] for r in results} == {"upserted"}
        assert await conn.fetchval(f"SELECT count(*) FROM {dst}") == ROWS
        assert await conn.fetchval(f"SELECT name FROM {dst} WHERE id = 1") == "row 1"
        assert await conn.fetchval(f"SELECT count(price) FROM {dst}") == 0  # only `name` (and the key) written

        await conn.execute(f"UPDATE {src} SET name = 'changed'")
        update = target.sink(SqlSinkOptions(table=dst, mode="update", key="id"))
        redo = [(m, d + "-update") for m, d in chunks]
        await update.deliver_many(redo)
        assert await conn.fetchval(f"SELECT count(*) FROM {dst} WHERE name = 'changed'") == ROWS
    finally:
        await origin.close()
        await target.close()


async def test_a_failing_chunk_delivers_nothing_and_can_be_retried(
    pg: tuple[asyncpg.Connection, str, str], pg_dsn: str
) -> None:
    conn, src, dst = pg
    origin, target = _connectors(pg_dsn)
    try:
        await conn.execute(f"INSERT INTO {dst} (id, name) VALUES (15000, 'in the way')")
        options = PostgresSourceOptions(table=src, cursor="id", bulk=True, chunk=10_000)
        chunks = await _chunks(origin.source("sync", options), MemoryIngress())
        sink = target.sink(SqlSinkOptions(table=dst, mode="insert"))
        ok, failed = await sink.deliver_many(chunks)
        assert isinstance(ok, dict) and ok["status"] == "inserted"
        assert isinstance(failed, DeliveryError) and not failed.retryable
        assert "duplicate key" in str(failed) and "10000..20000" in str(failed)
        assert await conn.fetchval(f"SELECT count(*) FROM {dst}") == 10_001  # the failed chunk left nothing
        await conn.execute(f"DELETE FROM {dst} WHERE id = 15000")
        assert (await sink.deliver(*chunks[1]))["status"] == "inserted"
        assert await conn.fetchval(f"SELECT count(*) FROM {dst}") == ROWS
    finally:
        await origin.close()
        await target.close()


async def test_a_chunk_must_come_from_the_system_it_names(pg_dsn: str) -> None:
    origin, target = _connectors(pg_dsn)
    try:
        body = bulk.Chunk("legacy", bulk.fingerprint(pg_dsn), "t", "id", None, 10, 10).body()
        sink = target.sink(SqlSinkOptions(table="t", mode="insert"))
        forged = Message(flow="f", source="webhook", event="chunk", body=body)  # e.g. a posted body
        with pytest.raises(DeliveryError, match="came from 'webhook'"):
            await sink.deliver(forged, "d1")
        unknown = Message(flow="f", source="other", event="chunk", body={**body, "system": "other"})
        with pytest.raises(DeliveryError, match="no postgres system"):
            await sink.deliver(unknown, "d2")
    finally:
        await origin.close()
        await target.close()


def test_bulk_options_are_checked() -> None:
    with pytest.raises(ValueError, match="not `query`"):
        PostgresSourceOptions(query="SELECT 1", cursor="id", bulk=True)
    with pytest.raises(ValueError, match="capture"):
        PostgresSourceOptions(table="t", capture=True, bulk=True)
    with pytest.raises(ValueError, match="cursor"):
        PostgresSourceOptions(table="t", bulk=True)


CONFIG = """\
hub: {name: t}
owners: {ops: {email: ops@example.test}}
systems:
  legacy: {connector: postgres, dsn: "postgresql://postgres@127.0.0.1:5432/test"}
  erp: {connector: postgres, dsn: "postgresql://postgres@127.0.0.1:5432/test"}
  lite: {connector: sqlite, path: ./lite.db}
flows:
  ok:
    trigger: {system: legacy, table: src, cursor: id, bulk: true, chunk: 50000}
    deliver: {system: erp, table: dst, mode: upsert, key: id}
  with-steps:
    trigger: {system: legacy, table: src, cursor: id, bulk: true}
    steps:
      - map: '{"id": id}'
    deliver: {system: erp, table: dst}
  to-sqlite:
    trigger: {system: legacy, table: src, cursor: id, bulk: true}
    deliver:
      - {system: erp, table: dst}
      - {system: lite, table: dst}
  deleting:
    trigger: {system: legacy, table: src, cursor: id, bulk: true}
    deliver: {system: erp, table: dst, mode: delete, key: id}
  sqlite-bulk:
    trigger: {system: lite, table: src, cursor: id, bulk: true}
    deliver: {system: erp, table: dst}
"""


def test_the_loader_refuses_bulk_flows_it_cannot_serve(tmp_path: Path) -> None:
    path = tmp_path / "hub.yaml"
    path.write_text(CONFIG)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    found = {(p.path, p.line): p.message for p in caught.value.problems}
    assert found.pop(("flows.with-steps.steps", 13)).startswith("a `bulk: true` trigger moves chunks")
    assert "only deliver to postgres, not sqlite" in found.pop(("flows.to-sqlite.deliver[1].system", 20))
    assert "cannot deliver in mode delete" in found.pop(("flows.deleting.deliver[0].mode", 23))
    assert "unknown setting 'bulk'" in found.pop(("flows.sqlite-bulk.trigger.bulk", 25))
    assert found == {}, found  # the flow `ok` passes
    assert all(p.file == str(path) for p in caught.value.problems)


async def test_a_timestamp_cursor_keeps_ties_in_one_chunk(pg_dsn: str) -> None:
    conn = await asyncpg.connect(pg_dsn)
    src, dst = f"bulk_ts_{uuid.uuid4().hex[:8]}", f"bulk_tsd_{uuid.uuid4().hex[:8]}"
    origin, target = _connectors(pg_dsn)
    try:
        await conn.execute(f"CREATE TABLE {src} (id integer PRIMARY KEY, updated_at timestamptz NOT NULL)")
        await conn.execute(f"CREATE TABLE {dst} (id integer, updated_at timestamptz)")  # no unique key
        # seven rows per timestamp: every chunk boundary falls inside a group of ties
        await conn.execute(
            f"INSERT INTO {src} SELECT i, timestamptz '2024-01-01' + (i / 7) * interval '1 second' "
            "FROM generate_series(1, 3000) i"
        )
        options = PostgresSourceOptions(table=src, cursor="updated_at", bulk=True, chunk=1_003)
        ingress = MemoryIngress()
        chunks = await _chunks(origin.source("sync", options), ingress)
        assert len(chunks) == 3
        # the 1,003rd row is id 1003, of the group 1001..1007: all of it goes in the first chunk
        assert chunks[1][0].body["low"] == {"datetime": "2024-01-01T00:02:23+00:00"}
        results = await target.sink(SqlSinkOptions(table=dst)).deliver_many(chunks)
        assert results[0]["rows"] == 1007
        assert sum(r["rows"] for r in results) == 3000
        assert await conn.fetchrow(f"SELECT count(*), count(DISTINCT id) FROM {dst}") == (3000, 3000)
    finally:
        await conn.execute(f"DROP TABLE IF EXISTS {src}, {dst}")
        await conn.close()
        await origin.close()
        await target.close()


async def test_a_system_copies_into_itself_even_with_a_pool_of_one(
    pg: tuple[asyncpg.Connection, str, str], pg_dsn: str
) -> None:
    conn, src, dst = pg
    legacy = PostgresConnector("legacy", PostgresSettings(dsn=pg_dsn, pool=1))
    try:
        options = PostgresSourceOptions(table=src, cursor="id", bulk=True, chunk=5_000)
        chunks = await _chunks(legacy.source("sync", options), MemoryIngress())
        results = await legacy.sink(SqlSinkOptions(table=dst, mode="upsert", key="id")).deliver_many(chunks)
        assert [r["status"] for r in results] == ["upserted"] * 4
        assert await conn.fetchval(f"SELECT count(*) FROM {dst}") == ROWS
    finally:
        await legacy.close()


ENTITY = """\
hub: {name: t}
systems:
  legacy: {connector: postgres, dsn: "postgresql://postgres@127.0.0.1:5432/test"}
  erp: {connector: postgres, dsn: "postgresql://postgres@127.0.0.1:5432/test"}
entities:
  customer:
    key: email
    schema: {type: object, properties: {email: {type: string}}}
    source_of_truth: legacy
    mode: interact
    subscribers:
      legacy:
        trigger: {table: contacts, cursor: id, key: email, bulk: true}
      erp:
        deliver: {table: customers, mode: upsert, key: email}
"""


def test_the_loader_refuses_a_bulk_trigger_of_an_entity(tmp_path: Path) -> None:
    path = tmp_path / "hub.yaml"
    path.write_text(ENTITY)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    found = {(p.path, p.line): p.message for p in caught.value.problems}
    assert "an entity cannot have one" in found.pop(("entities.customer.subscribers.legacy.trigger.bulk", 13))
    assert found == {}, found
