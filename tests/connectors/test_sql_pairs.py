"""A row inserted, updated and deleted in a source table reaches a sink table in another
database, for every source/sink pair of the three engines: change capture (triggers feeding
an outbox) -> the hub's ingress -> a `mirror` sink."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest

from interlace.connectors.sql.options import SqlSinkOptions, SqlSourceOptions

from .conftest import MemoryIngress

if TYPE_CHECKING:
    from tests.connectors.conftest import Engine

ENGINES = ["sqlite", "postgres", "mysql"]
COLUMNS = {"id": "pk", "name": "text", "qty": "int", "price": "decimal", "happened": "datetime", "active": "bool"}


def normalised(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Rows as comparable tuples, whatever engine they were read from."""
    out = []
    for r in rows:
        happened = r["happened"]
        if isinstance(happened, str):
            happened = datetime.fromisoformat(happened)
        out.append((r["id"], r["name"], r["qty"], Decimal(str(r["price"])), happened, bool(r["active"])))
    return out


async def read_all(source: Any, ingress: MemoryIngress, count: int) -> list[tuple[Any, str]]:
    """Poll until `count` changes are read. PostgreSQL's capture reads nothing past an outbox
    write still in flight, and the outbox is shared with whatever else runs on the server (the
    other tests of another checkout): a first empty poll is no failure; the deadline bounds a
    stuck source only."""
    batch: list[tuple[Any, str]] = []
    deadline = time.monotonic() + 60
    while len(batch) < count and time.monotonic() < deadline:
        while await source.poll(ingress):
            pass
        batch += ingress.take()
        if len(batch) < count:
            await asyncio.sleep(0.05)
    return batch


@pytest.mark.parametrize("target", ENGINES)
@pytest.mark.parametrize("origin", ENGINES)
async def test_changes_reach_the_other_database(
    origin: str, target: str, engines: Callable[[str], Engine], cleanup: list[Engine], ingress: MemoryIngress
) -> None:
    src, dst = engines(origin), engines(target)
    cleanup.extend([src, dst])
    table = await src.create(src.table_name(), COLUMNS)
    copy = await dst.create(f"{table}_copy", COLUMNS)
    await src.connector.install_capture(table)

    insert = f"INSERT INTO {table} (id, name, qty, price, happened, active) VALUES (?, ?, ?, ?, ?, ?)"
    for i in range(1, 5):
        await src.run(insert, i, f"item {i}", i * 10, Decimal(f"{i}.25"), datetime(2024, 1, i, 8, 30), i % 2 == 0)
    await src.run(f"UPDATE {table} SET qty = ?, name = ? WHERE id = ?", 99, "renamed", 2)
    await src.run(f"DELETE FROM {table} WHERE id = ?", 3)

    source = src.connector.source("mirror", SqlSourceOptions(table=table, capture=True, batch=3))
    batch = await read_all(source, ingress, 6)
    assert [m.event for m, _ in batch] == ["insert"] * 4 + ["update", "delete"]

    sink = dst.connector.sink(SqlSinkOptions(table=copy, mode="mirror", key="id"))
    for _ in range(2):  # a redelivery of the whole batch changes nothing
        results = await sink.deliver_many(batch)
        assert not [r for r in results if isinstance(r, Exception)]
        assert normalised(await dst.rows(copy)) == normalised(await src.rows(table))
    assert [r["id"] for r in await dst.rows(copy)] == [1, 2, 4]
    assert (await dst.rows(copy))[1]["name"] == "renamed"
