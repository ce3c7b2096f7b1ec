"""The `enrich` step against a real PostgreSQL: the row is added to the body, an absent row is
null (or, when required, an exception for the owner); `interlace test` answers it from `lookups:`."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from interlace.config.loader import load_config
from interlace.connectors.base import Incoming
from interlace.errors import ConfigError
from interlace.hub import Hub
from interlace.testing.runner import run_tests

PG = "postgresql://postgres@127.0.0.1:5432/test"

CONFIG = """
hub: {{name: enrich}}
owners: {{ops: {{email: ops@x.test}}}}
systems:
  crm: {{connector: postgres, dsn: "{dsn}"}}
  out: {{connector: sqlite, path: ./out.db}}
flows:
  orders:
    trigger: {{schedule: "0 0 1 1 *"}}
    steps:
      - enrich: {{system: crm, table: {table}, where: {{email: "$lowercase(customer)"}}, into: customer_row}}
      - map: '{{"order_no": id, "tier": customer_row.tier}}'
    deliver: {{system: out, table: orders, mode: insert}}
    on_error: {{owner: ops}}
    tests:
      - given: {{id: "T1", customer: "Ann@X.test"}}
        lookups: {{{table}: [{{email: "ann@x.test", tier: gold}}]}}
        expect: {{order_no: "T1", tier: gold}}
  strict:
    trigger: {{schedule: "0 0 1 1 *"}}
    steps:
      - enrich: {{system: crm, table: {table}, where: {{email: customer}}, into: c, required: true}}
    deliver: {{system: out, table: strict_orders, mode: insert}}
    on_error: {{owner: ops}}
"""


@pytest.fixture
async def table(service: object) -> AsyncIterator[str]:
    service("postgres")  # type: ignore[operator]
    name = f"customers_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(PG)
    await conn.execute(f"CREATE TABLE {name} (email text PRIMARY KEY, tier text)")
    await conn.execute(f"INSERT INTO {name} VALUES ('ann@x.test', 'gold')")
    yield name
    await conn.execute(f"DROP TABLE {name}")
    await conn.close()


async def test_enrich_from_postgres(tmp_path: Path, table: str) -> None:
    (tmp_path / "hub.yaml").write_text(CONFIG.format(dsn=PG, table=table))
    (tmp_path / "out.db").touch()
    with sqlite3.connect(tmp_path / "out.db") as conn:
        conn.execute("CREATE TABLE orders (order_no TEXT, tier TEXT)")
        conn.execute("CREATE TABLE strict_orders (id TEXT, customer TEXT, c TEXT)")
    hub = Hub(load_config(tmp_path / "hub.yaml"))
    await hub.start(sources=False)
    try:
        await hub.ingress.submit("orders", [Incoming({"id": "O1", "customer": "ANN@x.test"})])
        await hub.ingress.submit("orders", [Incoming({"id": "O2", "customer": "bob@x.test"})])
        [missing] = await hub.ingress.submit("strict", [Incoming({"id": "O3", "customer": "bob@x.test"})])
        await hub.worker.drain()
        [exc] = await hub.backend.exceptions()
    finally:
        await hub.stop()
    with sqlite3.connect(tmp_path / "out.db") as conn:
        assert sorted(conn.execute("SELECT order_no, tier FROM orders").fetchall(), key=str) == [
            ("O1", "gold"),
            ("O2", None),
        ]
    assert exc.message.id == missing and exc.owner == "ops"
    assert exc.stage == f"enrich:crm.{table}" and "no customers_" in exc.reason


def test_flow_tests_answer_enrich_from_lookups(tmp_path: Path) -> None:
    (tmp_path / "hub.yaml").write_text(CONFIG.format(dsn=PG, table="customers"))
    results = {r.flow: r for r in run_tests(load_config(tmp_path / "hub.yaml"))}
    assert results["orders"].ok, (results["orders"].failures, results["orders"].error)


def test_enrich_of_a_system_that_cannot_be_looked_up(tmp_path: Path) -> None:
    (tmp_path / "hub.yaml").write_text(
        "systems:\n  shop: {connector: webhook}\nflows:\n  f:\n    trigger: {system: shop}\n"
        "    steps:\n      - enrich: {system: shop, table: t, where: {a: '$sum('}, into: x}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "hub.yaml")
    found = {(p.path, p.line) for p in info.value.problems}
    assert ("flows.f.steps[0].enrich.system", 7) in found
    assert ("flows.f.steps[0].enrich.where.a", 7) in found
