"""The sink and source contract, for every engine: the same tests against SQLite, PostgreSQL and
MariaDB, each for real."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from interlace.connectors.sql.coerce import ValueNotStorable
from interlace.connectors.sql.options import SqlSinkOptions, SqlSourceOptions
from interlace.errors import DeliveryError
from interlace.message import Message

if TYPE_CHECKING:
    from tests.connectors.conftest import Engine, MemoryIngress

ORDERS = {"order_no": "key", "qty": "int", "price": "decimal", "placed": "datetime", "paid": "bool"}


def msg(body: Mapping[str, object], event: str | None = None) -> Message:
    return Message(flow="f", body=dict(body), event=event)


async def test_upsert_update_delete(engine: Engine) -> None:
    table = await engine.create(engine.table_name(), ORDERS)
    upsert = engine.connector.sink(SqlSinkOptions(table=table, mode="upsert", key="order_no"))
    body = {"order_no": "A1", "qty": "3", "price": "12.50", "placed": "2024-05-01T10:00:00Z", "paid": "yes"}
    assert await upsert.deliver(msg(body), "d1") == {"status": "upserted"}
    await upsert.deliver(msg({**body, "qty": 4}), "d2")
    update = engine.connector.sink(SqlSinkOptions(table=table, mode="update", key="order_no"))
    await update.deliver(msg({"order_no": "A1", "paid": False}), "d3")
    (row,) = await engine.rows(table, "order_no")
    assert (row["qty"], Decimal(str(row["price"])), bool(row["paid"])) == (4, Decimal("12.50"), False)
    placed = row["placed"] if isinstance(row["placed"], datetime) else datetime.fromisoformat(row["placed"])
    assert placed == datetime(2024, 5, 1, 10, 0)
    delete = engine.connector.sink(SqlSinkOptions(table=table, mode="delete", key="order_no"))
    assert await delete.deliver(msg({"order_no": "A1"}), "d4") == {"status": "deleted"}
    assert await engine.rows(table, "order_no") == []


async def test_insert_is_effectively_once_under_redelivery(engine: Engine) -> None:
    table = await engine.create(engine.table_name(), {"id": "int", "note": "text"})
    sink = engine.connector.sink(SqlSinkOptions(table=table, mode="insert"))
    batch = [(msg({"id": i, "note": f"n{i}"}), f"delivery-{i}") for i in range(5)]
    assert all(r == {"status": "inserted"} for r in await sink.deliver_many(batch))
    again = await sink.deliver_many([*batch[2:], (msg({"id": 9, "note": "new"}), "delivery-9")])
    assert again == [{"status": "duplicate"}] * 3 + [{"status": "inserted"}]
    assert [r["id"] for r in await engine.rows(table)] == [0, 1, 2, 3, 4, 9]


async def test_upsert_is_idempotent_under_redelivery(engine: Engine) -> None:
    table = await engine.create(engine.table_name(), ORDERS)
    sink = engine.connector.sink(SqlSinkOptions(table=table, mode="upsert", key="order_no"))
    batch = [(msg({"order_no": f"A{i}", "qty": i}), f"d{i}") for i in range(3)]
    for _ in range(3):
        assert await sink.deliver_many(batch) == [{"status": "upserted"}] * 3
    assert [(r["order_no"], r["qty"]) for r in await engine.rows(table, "order_no")] == [
        ("A0", 0), ("A1", 1), ("A2", 2),
    ]  # fmt: skip


@pytest.mark.parametrize("mode", ["insert", "upsert"])
async def test_bad_value_fails_only_its_row(engine: Engine, mode: str) -> None:
    table = await engine.create(engine.table_name(), ORDERS)
    sink = engine.connector.sink(SqlSinkOptions(table=table, mode=mode, key="order_no"))
    bodies = [{"order_no": f"A{i}", "qty": i, "price": "1.5"} for i in range(6)]
    bodies[3]["qty"] = "three"
    results = await sink.deliver_many([(msg(b), f"d{i}") for i, b in enumerate(bodies)])
    error = results[3]
    assert isinstance(error, ValueNotStorable) and not error.retryable
    assert (error.key, error.column) == ("A3", "qty")
    assert "row key 'A3'" in str(error) and "column 'qty'" in str(error)
    assert all(isinstance(r, dict) for i, r in enumerate(results) if i != 3)
    assert [r["order_no"] for r in await engine.rows(table, "order_no")] == ["A0", "A1", "A2", "A4", "A5"]


async def test_row_refused_by_the_database_fails_only_its_row(engine: Engine) -> None:
    table = await engine.create(engine.table_name(), {"order_no": "key", "qty": "int"})
    await engine.run(f"INSERT INTO {table} (order_no, qty) VALUES (?, ?)", "A2", 1)
    sink = engine.connector.sink(SqlSinkOptions(table=table, mode="insert"))
    results = await sink.deliver_many([(msg({"order_no": f"A{i}", "qty": i}), f"d{i}") for i in range(4)])
    assert isinstance(results[2], DeliveryError) and "A2" in str(results[2])
    assert [isinstance(r, dict) for r in results] == [True, True, False, True]
    assert len(await engine.rows(table, "order_no")) == 4
    (alone,) = await sink.deliver_many([(msg({"order_no": "A1", "qty": 9}), "d9")])
    assert isinstance(alone, DeliveryError) and "A1" in str(alone)
    # once the conflict is resolved, a redelivery of the refused messages inserts them
    await engine.run(f"DELETE FROM {table} WHERE order_no IN (?, ?)", "A1", "A2")
    again = await sink.deliver_many(
        [(msg({"order_no": "A2", "qty": 2}), "d2"), (msg({"order_no": "A1", "qty": 9}), "d9")]
    )
    assert again == [{"status": "inserted"}, {"status": "inserted"}]


async def test_unknown_column_and_missing_key_are_clear(engine: Engine) -> None:
    table = await engine.create(engine.table_name(), ORDERS)
    sink = engine.connector.sink(SqlSinkOptions(table=table, mode="upsert", key="order_no"))
    no_column, bad_name, no_key = await sink.deliver_many([
        (msg({"order_no": "A1", "colour": "red"}), "d1"),
        (msg({"order_no": "A2", "qty; DROP TABLE x": 1}), "d2"),
        (msg({"qty": 1}), "d3"),
    ])  # fmt: skip
    assert "has no column 'colour'" in str(no_column)
    assert "not a valid SQL name" in str(bad_name)
    assert "no key column 'order_no'" in str(no_key)


async def test_polling_by_cursor_resumes_without_skipping_ties(engine: Engine, ingress: MemoryIngress) -> None:
    table = await engine.create(engine.table_name(), {"id": "pk", "version": "int", "note": "text"})
    for i in range(1, 6):
        await engine.run(f"INSERT INTO {table} (id, version, note) VALUES (?, ?, ?)", i, 1, f"n{i}")
    options = SqlSourceOptions(table=table, cursor="version", key="id", batch=2)
    source = engine.connector.source("sync", options)
    assert [await source.poll(ingress) for _ in range(4)] == [2, 2, 1, 0]
    assert [item.body["id"] for _, item in ingress.items] == [1, 2, 3, 4, 5]
    await engine.run(f"UPDATE {table} SET version = 2, note = ? WHERE id = 2", "changed")
    restarted = engine.connector.source("sync", options)  # a new process: the cursor comes from the hub
    assert await restarted.poll(ingress) == 1
    assert ingress.items[-1][1].body == {"id": 2, "version": 2, "note": "changed"}


async def test_polling_a_query(engine: Engine, ingress: MemoryIngress) -> None:
    table = await engine.create(engine.table_name(), {"id": "pk", "note": "text"})
    for i in range(1, 4):
        await engine.run(f"INSERT INTO {table} (id, note) VALUES (?, ?)", i, f"n{i}")
    query = f"SELECT id, note FROM {table} WHERE id <> 2"
    source = engine.connector.source("q", SqlSourceOptions(query=query, cursor="id"))
    assert await source.poll(ingress) == 2
    assert [item.key for _, item in ingress.items] == ["1", "3"]


async def test_inspect_and_lookup(engine: Engine) -> None:
    table = await engine.create(engine.table_name(), ORDERS)
    tables = {t.name: t for t in await engine.connector.inspect()}
    info = tables[table]
    assert info.primary_key == ["order_no"]
    assert [(c.name, c.family) for c in info.columns] == [
        ("order_no", "text"), ("qty", "int"), ("price", "decimal"), ("placed", "datetime"), ("paid", "bool"),
    ]  # fmt: skip
    assert not info.column("order_no").nullable and info.column("qty").nullable  # type: ignore[union-attr]
    await engine.run(f"INSERT INTO {table} (order_no, qty, price) VALUES (?, ?, ?)", "A1", 2, Decimal("9.99"))
    found = await engine.connector.lookup(table, {"order_no": "A1"})
    assert found is not None and (found["qty"], found["price"]) == (2, 9.99)
    assert await engine.connector.lookup(table, {"order_no": "nope"}) is None
    await engine.run(f"DELETE FROM {table}")
    assert await engine.connector.lookup(table, {"order_no": "A1"}) == found  # cached for the TTL


async def test_a_column_added_while_running_is_found(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    table = await engine.create(engine.table_name(), {"order_no": "key", "qty": "int"})
    sink = engine.connector.sink(SqlSinkOptions(table=table, mode="upsert", key="order_no"))
    await sink.deliver(msg({"order_no": "A1", "qty": 1}), "d1")
    await engine.run(f"ALTER TABLE {table} ADD COLUMN note VARCHAR(20)")
    monkeypatch.setattr("interlace.connectors.sql.sink._RELOAD_AFTER", 0.0)
    assert await sink.deliver(msg({"order_no": "A1", "qty": 2, "note": "hi"}), "d2") == {"status": "upserted"}
    assert [(r["qty"], r["note"]) for r in await engine.rows(table, "order_no")] == [(2, "hi")]
