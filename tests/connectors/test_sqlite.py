"""SQLite as the quickstart uses it: a file, a setup script, a sink and a polling source."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from interlace.connectors.sql import check_columns, inspect, install_capture
from interlace.connectors.sql.lookup import Lookup
from interlace.connectors.sql.options import SqlSinkOptions, SqlSourceOptions
from interlace.connectors.sqlite import SqliteConnector, SqliteSettings
from interlace.errors import ConnectorError
from interlace.message import Message

if TYPE_CHECKING:
    from tests.connectors.conftest import MemoryIngress

SETUP = """
CREATE TABLE IF NOT EXISTS orders (
  order_no TEXT PRIMARY KEY, email TEXT NOT NULL, total DECIMAL(10,2), placed DATETIME,
  updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now'))
);
"""


def erp(tmp_path: Path) -> SqliteConnector:
    (tmp_path / "erp.sql").write_text(SETUP)
    settings = SqliteSettings.model_validate({"path": str(tmp_path / "erp.db"), "setup": str(tmp_path / "erp.sql")})
    return SqliteConnector("erp", settings)


async def test_quickstart_sink_survives_a_restart(tmp_path: Path) -> None:
    connector = erp(tmp_path)
    sink = connector.sink(SqlSinkOptions.model_validate({"table": "orders", "mode": "upsert", "key": "order_no"}))
    body = {"order_no": "A1", "email": "a@x.test", "total": 10, "placed": "2024-03-01T09:00:00Z"}
    assert await sink.deliver(Message(flow="order-to-erp", body=body), "m1") == {"status": "upserted"}
    await connector.close()

    again = erp(tmp_path)  # the setup script runs again: it must be idempotent
    try:
        row = await again.lookup("orders", {"order_no": "A1"})
        assert row is not None and (row["email"], row["total"], row["placed"]) == (
            "a@x.test", 10, "2024-03-01 09:00:00",
        )  # fmt: skip
    finally:
        await again.close()


async def test_polling_source_runs_until_cancelled(tmp_path: Path, ingress: MemoryIngress) -> None:
    connector = erp(tmp_path)
    sink = connector.sink(SqlSinkOptions(table="orders", mode="insert"))
    source = connector.source("legacy-sync", SqlSourceOptions(table="orders", cursor="updated_at", key="order_no",
                                                              every="50ms", batch=2))  # fmt: skip
    task = asyncio.create_task(source.run(ingress))
    try:
        for i in range(5):
            await sink.deliver(Message(flow="x", body={"order_no": f"A{i}", "email": "e"}), f"m{i}")
        for _ in range(100):
            if len(ingress.items) == 5:
                break
            await asyncio.sleep(0.02)
        assert sorted(item.key or "" for _, item in ingress.items) == [f"A{i}" for i in range(5)]
        assert ingress.cursors["sql:erp:legacy-sync"] is not None
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await connector.close()


async def test_lookup_cache_expires(tmp_path: Path) -> None:
    connector = erp(tmp_path)
    try:
        now = [1000.0]
        lookup = Lookup(connector.database, ttl=60, clock=lambda: now[0])
        assert await lookup("orders", {"order_no": "A1"}) is None
        sink = connector.sink(SqlSinkOptions(table="orders", mode="insert"))
        await sink.deliver(Message(flow="x", body={"order_no": "A1", "email": "e"}), "m1")
        now[0] += 59.9
        assert await lookup("orders", {"order_no": "A1"}) is None  # the miss is cached too
        now[0] += 0.2
        found = await lookup("orders", {"order_no": "A1"})
        assert found is not None and found["email"] == "e"
        assert (lookup.hits, lookup.misses) == (1, 2)
    finally:
        await connector.close()


async def test_admin_functions_for_the_cli(tmp_path: Path, ingress: MemoryIngress) -> None:
    settings = SqliteSettings(path=tmp_path / "erp.db", setup=tmp_path / "erp.sql")
    (tmp_path / "erp.sql").write_text(SETUP)
    (orders,) = await inspect(settings, "erp")
    assert orders.as_dict()["primary_key"] == ["order_no"]
    assert [c.name for c in orders.columns] == ["order_no", "email", "total", "placed", "updated_at"]
    assert await check_columns(settings, "orders", ["order_no", "colour"]) == [
        "table 'orders' has no column 'colour'",
        "column 'email' of 'orders' is NOT NULL without a default, and the mapping omits it",
    ]
    assert await check_columns(settings, "nope", ["a"]) == [f"sqlite {tmp_path / 'erp.db'}: no table 'nope'"]
    statements = await install_capture(settings, "orders", "erp")
    assert any("CREATE TRIGGER" in s for s in statements)
    assert await install_capture(settings, "orders", "erp") == statements  # running it again is harmless

    connector = SqliteConnector("erp", settings)
    try:
        sink = connector.sink(SqlSinkOptions(table="orders", mode="insert"))
        await sink.deliver(Message(flow="x", body={"order_no": "A1", "email": "e"}), "m1")
        source = connector.source("cdc", SqlSourceOptions(table="orders", capture=True))
        assert await source.poll(ingress) == 1
        assert [item.event for _, item in ingress.items] == ["insert"]
    finally:
        await connector.close()


async def test_a_bad_setup_script_is_named(tmp_path: Path) -> None:
    (tmp_path / "bad.sql").write_text("CREATE TABLE orders (lines TEXT,);")
    connector = SqliteConnector("erp", SqliteSettings(path=tmp_path / "erp.db", setup=tmp_path / "bad.sql"))
    with pytest.raises(ConnectorError, match="setup script failed: near"):
        await connector.probe()
    await connector.close()
