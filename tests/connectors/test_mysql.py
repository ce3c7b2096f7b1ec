"""MariaDB/MySQL specifics: a multi-statement setup script, JSON stored in text columns,
and an unreachable server reported clearly."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from interlace.connectors.mysql import MysqlConnector, MysqlSettings
from interlace.connectors.sql.options import SqlSinkOptions
from interlace.errors import ConnectorError
from interlace.message import Message

if TYPE_CHECKING:
    from tests.connectors.conftest import Engine


@pytest.fixture
async def my(engines: Callable[[str], Engine], cleanup: list[Engine]) -> Engine:
    engine = engines("mysql")
    cleanup.append(engine)
    return engine


async def test_setup_script_with_several_statements(tmp_path: Path, service: Callable[[str], None]) -> None:
    service("mysql")
    script = tmp_path / "setup.sql"
    script.write_text(
        "CREATE TABLE IF NOT EXISTS interlace_setup_a (id INT PRIMARY KEY);\n"
        "CREATE TABLE IF NOT EXISTS interlace_setup_b (id INT PRIMARY KEY, doc JSON);\n"
    )
    connector = MysqlConnector("my", MysqlSettings(database="test", setup=str(script)))
    try:
        tables = {t.name: t for t in await connector.inspect()}
        assert {"interlace_setup_a", "interlace_setup_b"} <= set(tables)
        sink = connector.sink(SqlSinkOptions(table="interlace_setup_b", mode="upsert", key="id"))
        await sink.deliver(Message(flow="f", body={"id": 1, "doc": {"a": [1, 2]}}), "d1")
        assert await connector.lookup("interlace_setup_b", {"id": "1"}) == {"id": 1, "doc": '{"a":[1,2]}'}
    finally:
        db = await connector.database()
        async with db.transaction() as tx:
            await tx.execute("DROP TABLE interlace_setup_a, interlace_setup_b")
        await connector.close()


async def test_unreachable_server_is_a_connector_error() -> None:
    connector = MysqlConnector("my", MysqlSettings(port=1, database="test"))
    with pytest.raises(ConnectorError, match="my"):
        await connector.probe()


async def test_upsert_with_composite_key(my: Engine) -> None:
    table = my.table_name()
    await my.run(f"CREATE TABLE {table} (shop VARCHAR(10), sku VARCHAR(10), qty INT, PRIMARY KEY (shop, sku))")
    my.created.append(table)
    sink = my.connector.sink(SqlSinkOptions(table=table, mode="upsert", key=["shop", "sku"]))
    bodies = [{"shop": "s1", "sku": "a", "qty": 1}, {"shop": "s1", "sku": "a", "qty": 5}, {"shop": "s2", "sku": "a"}]
    results = await sink.deliver_many([(Message(flow="f", body=b), f"d{i}") for i, b in enumerate(bodies)])
    assert all(isinstance(r, dict) for r in results)
    assert [(r["shop"], r["qty"]) for r in await my.rows(table, "shop")] == [("s1", 5), ("s2", None)]
