"""SQL from the config and from messages: names are checked when the config loads (the error names
the field), and values always travel bound. Attacked through a table name, a column name and a
value, on every database engine that runs here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from connectors.conftest import ENGINES, Engine, make_connector
from interlace.config.loader import load_config
from interlace.connectors.sql.options import SqlSinkOptions
from interlace.errors import ConfigError, DeliveryError
from interlace.message import Message

INJECTION = "orders; DROP TABLE orders; --"
CONFIG = """
hub: {{name: sql}}
systems:
  erp: {{connector: sqlite, path: ./erp.db}}
  shop: {{connector: webhook}}
flows:
  f:
    trigger: {{system: shop}}
    {steps}
    deliver: {deliver}
"""


@pytest.mark.parametrize(
    ("steps", "deliver", "where"),
    [
        ("", f'{{system: erp, table: "{INJECTION}"}}', "flows.f.deliver[0].table"),
        ("", '{system: erp, table: "sales.orders.x"}', "flows.f.deliver[0].table"),
        ("", '{system: erp, table: orders, mode: upsert, key: "id) --"}', "flows.f.deliver[0].key"),
        ("", '{system: erp, table: orders, columns: [id, "total = 0 --"]}', "flows.f.deliver[0].columns[1]"),
        (
            f'steps: [{{enrich: {{system: erp, table: "{INJECTION}", where: {{email: e}}, into: c}}}}]',
            "{system: erp, table: orders}",
            "enrich.table",
        ),
        (
            'steps: [{enrich: {system: erp, table: customers, where: {"email = email OR 1=1 --": e}, into: c}}]',
            "{system: erp, table: orders}",
            "enrich.where",
        ),
    ],
)
def test_a_bad_name_is_refused_when_the_config_loads(tmp_path: Path, steps: str, deliver: str, where: str) -> None:
    (tmp_path / "hub.yaml").write_text(CONFIG.format(steps=steps, deliver=deliver))
    with pytest.raises(ConfigError) as refused:
        load_config(tmp_path / "hub.yaml")
    text = str(refused.value)
    assert where in text and "not a valid" in text, text


def test_a_trigger_names_are_checked_too(tmp_path: Path) -> None:
    (tmp_path / "hub.yaml").write_text(
        """
hub: {name: sql}
systems:
  erp: {connector: sqlite, path: ./erp.db}
flows:
  f: {trigger: {system: erp, table: orders, cursor: "updated_at; DELETE FROM orders"}}
"""
    )
    with pytest.raises(ConfigError, match=r"flows\.f\.trigger\.cursor.*not a valid"):
        load_config(tmp_path / "hub.yaml")


@pytest.fixture(params=ENGINES)
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Engine]:
    made = Engine(request.param, make_connector(request.param, tmp_path))
    yield made
    await made.drop_created()
    await made.connector.close()


async def test_values_are_bound_and_body_keys_are_checked(engine: Engine) -> None:
    table = await engine.create(engine.table_name(), {"id": "key", "note": "text"})
    sink = engine.connector.sink(SqlSinkOptions(table=table, mode="upsert", key="id"))
    evil = f"x'); DROP TABLE {table}; --"
    await sink.deliver(Message(flow="f", body={"id": "A1", "note": evil}), "d1")
    await sink.deliver(Message(flow="f", body={"id": evil, "note": "n"}), "d2")
    with pytest.raises(DeliveryError) as refused:
        await sink.deliver(Message(flow="f", body={"id": "A2", f"note) VALUES ('x'); DROP TABLE {table}; --": 1}), "d3")
    assert not refused.value.retryable
    rows = await engine.rows(table)
    assert sorted((r["id"], r["note"]) for r in rows) == sorted([("A1", evil), (evil, "n")])
