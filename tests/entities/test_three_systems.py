"""Issue 4's acceptance, end to end: a PostgreSQL "crm" (source of truth of customers), a
MariaDB "erp" and an HTTP "shop" (owner of loyalty_points), all real, synced through the hub's
golden record. A customer created in the crm reaches the erp and the shop; the shop's loyalty
points reach the crm; the erp's name change is refused as a conflict for the owner and the erp
is set back; the erp's local credit_limit never leaves it; and nothing ping-pongs."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiomysql
import asyncpg
import pytest

from entity_support import MYSQL_DSN, PG_DSN, Shop, eventually, running_hub
from interlace.hub import Hub

from support import free_port, interlace, require_service

CONFIG = """
hub: {{name: e2e, store: "sqlite:///hub.db", poll: 50ms, lease: 10s}}
owners:
  sales-ops: {{email: sales@acme.test}}
systems:
  crm: {{connector: postgres, dsn: "{pg}"}}
  erp: {{connector: mysql, dsn: "{my}"}}
  shop: {{connector: http, base_url: "{shop}"}}
  shop_hooks: {{connector: webhook}}
entities:
  customer:
    key: email
    schema:
      type: object
      required: [email, name]
      properties:
        email: {{type: string}}
        name: {{type: string}}
        loyalty_points: {{type: [integer, "null"]}}
        credit_limit: {{type: [number, "null"]}}
    source_of_truth: crm
    owner: sales-ops
    fields: {{loyalty_points: {{owner: shop}}}}
    local: {{erp: [credit_limit]}}
    mode: integrate
    subscribers:
      crm:
        trigger: {{table: {crm}, cursor: updated_at, key: email, every: 100ms}}
        deliver: {{table: {crm}, mode: upsert, key: email}}
        inbound: '{{"email": email, "name": full_name, "loyalty_points": points}}'
        outbound: '{{"email": email, "full_name": name, "points": loyalty_points}}'
      erp:
        trigger: {{table: {erp}, cursor: updated_at, key: email, every: 100ms}}
        deliver: {{table: {erp}, mode: upsert, key: email}}
      shop:
        trigger: {{system: shop_hooks, event: customer.updated}}
        deliver: {{method: PUT, path: "/customers/{{email}}"}}
        read: {{path: /customers}}
"""


class Databases:
    def __init__(self, pg: asyncpg.Connection, my: aiomysql.Connection, suffix: str) -> None:
        self.pg, self.my = pg, my
        self.crm, self.erp = f"crm_contacts_{suffix}", f"erp_customers_{suffix}"

    async def create(self) -> None:
        await self.pg.execute(
            f"CREATE TABLE {self.crm} (email text PRIMARY KEY, full_name text NOT NULL, points integer,"
            " updated_at timestamptz NOT NULL DEFAULT clock_timestamp())"
        )
        await self.pg.execute(
            f"CREATE FUNCTION {self.crm}_touch() RETURNS trigger LANGUAGE plpgsql AS"
            " $$ BEGIN NEW.updated_at = clock_timestamp(); RETURN NEW; END $$"
        )
        await self.pg.execute(
            f"CREATE TRIGGER touch BEFORE UPDATE ON {self.crm} FOR EACH ROW EXECUTE FUNCTION {self.crm}_touch()"
        )
        await self.mysql(
            f"CREATE TABLE {self.erp} (email VARCHAR(120) PRIMARY KEY, name VARCHAR(120) NOT NULL,"
            " loyalty_points INT NULL, credit_limit DECIMAL(12,2) NULL,"
            " updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))"
        )

    async def drop(self) -> None:
        await self.pg.execute(f"DROP TABLE IF EXISTS {self.crm}")
        await self.pg.execute(f"DROP FUNCTION IF EXISTS {self.crm}_touch()")
        await self.mysql(f"DROP TABLE IF EXISTS {self.erp}")

    async def mysql(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        async with self.my.cursor(aiomysql.DictCursor) as cur:
            await cur.execute(sql, args)
            return list(await cur.fetchall())

    async def erp_row(self, email: str) -> dict[str, Any] | None:
        rows = await self.mysql(f"SELECT * FROM {self.erp} WHERE email = %s", email)
        return rows[0] if rows else None

    async def crm_row(self, email: str) -> dict[str, Any] | None:
        row = await self.pg.fetchrow(f"SELECT * FROM {self.crm} WHERE email = $1", email)
        return dict(row) if row else None


@pytest.fixture
async def databases() -> AsyncIterator[Databases]:
    require_service("postgres")
    require_service("mysql")
    pg = await asyncpg.connect(PG_DSN)
    my = await aiomysql.connect(host="127.0.0.1", port=3306, user="root", password="", db="test", autocommit=True)
    dbs = Databases(pg, my, uuid.uuid4().hex[:8])
    await dbs.create()
    try:
        yield dbs
    finally:
        await dbs.drop()
        await pg.close()
        my.close()


def write_config(folder: Path, dbs: Databases, shop: Shop) -> Path:
    config = folder / "hub.yaml"
    config.write_text(CONFIG.format(pg=PG_DSN, my=MYSQL_DSN, shop=shop.url, crm=dbs.crm, erp=dbs.erp))
    return config


async def settled(hub: Hub, quiet: float = 0.6) -> None:
    """No work pending, and still none after the pollers had time to bring back any echo."""
    for _ in range(3):
        await hub.worker.drain(timeout=20)
        await asyncio.sleep(quiet)
        if await hub.backend.pending() == 0:
            return
    raise AssertionError("the hub does not settle: a change keeps coming back")


async def test_crm_erp_shop_sync_through_the_golden_record(tmp_path: Path, databases: Databases, shop: Shop) -> None:
    dbs = databases
    config = write_config(tmp_path, dbs, shop)
    port = free_port()
    shop.hook_url = f"http://127.0.0.1:{port}/hooks/shop_hooks/customer.updated"
    async with running_hub(config, port) as hub:
        # 1. created in the crm: appears in the erp and the shop
        await dbs.pg.execute(f"INSERT INTO {dbs.crm} (email, full_name) VALUES ('ann@x.test', 'Ann')")

        async def in_erp_and_shop() -> bool:
            row = await dbs.erp_row("ann@x.test")
            return (
                row is not None and row["name"] == "Ann" and shop.customers.get("ann@x.test", {}).get("name") == "Ann"
            )

        await eventually(in_erp_and_shop, what="the crm's new customer in the erp and the shop")
        await settled(hub)

        # 2. the shop changes loyalty points (its field): they reach the crm (and the erp)
        shop.change("ann@x.test", loyalty_points=120)

        async def points_in_crm() -> bool:
            crm, erp = await dbs.crm_row("ann@x.test"), await dbs.erp_row("ann@x.test")
            return crm is not None and crm["points"] == 120 and erp is not None and erp["loyalty_points"] == 120

        await eventually(points_in_crm, what="the shop's loyalty points in the crm and the erp")
        await settled(hub)

        # 3. the erp renames the customer (the crm's field): a conflict for sales-ops, erp set back
        await dbs.mysql(f"UPDATE {dbs.erp} SET name = 'Annie' WHERE email = 'ann@x.test'")

        async def conflict_parked() -> bool:
            return bool(await hub.backend.exceptions(owner="sales-ops"))

        await eventually(conflict_parked, what="the conflict exception")
        [conflict] = await hub.backend.exceptions(owner="sales-ops")
        assert "conflict" in conflict.reason and '"Annie"' in conflict.reason and '"Ann"' in conflict.reason
        assert conflict.message.body == {"email": "ann@x.test", "name": "Annie"}

        async def erp_set_back() -> bool:
            row = await dbs.erp_row("ann@x.test")
            return row is not None and row["name"] == "Ann"

        await eventually(erp_set_back, what="the erp set back to the golden name")
        await settled(hub)
        crm = await dbs.crm_row("ann@x.test")
        assert crm is not None and crm["full_name"] == "Ann"
        assert shop.customers["ann@x.test"]["name"] == "Ann"

        # 4. the erp's local credit limit never leaves it
        await dbs.mysql(f"UPDATE {dbs.erp} SET credit_limit = 5000 WHERE email = 'ann@x.test'")
        await asyncio.sleep(0.5)
        await settled(hub)

        golden = (await hub.backend.golden("customer", ["ann@x.test"]))["ann@x.test"]
        assert golden.values == {"email": "ann@x.test", "name": "Ann", "loyalty_points": 120}
        assert golden.status == "complete"
        assert (golden.provenance["name"].system, golden.provenance["loyalty_points"].system) == ("crm", "shop")
        erp = await dbs.erp_row("ann@x.test")
        assert erp is not None and erp["credit_limit"] == 5000
        assert all("credit_limit" not in (body or {}) for _, _, body in shop.received)
        assert [e.id for e in await hub.backend.exceptions()] == [conflict.id], "nothing else went wrong"

        # no ping-pong: the shop got the new customer once, and never its own change back
        assert [(m, e, b) for m, e, b in shop.received] == [
            ("PUT", "ann@x.test", {"email": "ann@x.test", "name": "Ann", "loyalty_points": None})
        ]
        counts = {c.flow: c for c in await hub.backend.counts()}
        assert counts["customer:to:crm"].delivered == 1, "the crm got the points, once"
        assert counts["customer:to:erp"].delivered == 3, "the erp got: the customer, the points, the set-back"
        assert counts["customer:to:shop"].delivered == 1

    # the CLI sees the same: the golden record with provenance, and no system disagreeing
    # (in a thread: this event loop serves the shop the CLI reads)
    shown = await asyncio.to_thread(
        interlace, "entity", "show", str(config), "customer", "ann@x.test", "--json", check=True, cwd=tmp_path
    )
    record = json.loads(shown.stdout)
    assert record["values"]["loyalty_points"] == 120 and record["provenance"]["loyalty_points"]["system"] == "shop"
    assert [h["kind"] for h in record["history"]][:1] == ["applied"]
    assert "conflict" in [h["kind"] for h in record["history"]]
    diff = await asyncio.to_thread(
        interlace, "entity", "diff", str(config), "customer", "--json", check=True, cwd=tmp_path
    )
    assert json.loads(diff.stdout) == []
