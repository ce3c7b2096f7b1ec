"""A record's life beyond plain updates, on real SQLite systems (no services needed) and a webhook:
held while incomplete and released (by later data, or by `dlq retry` with an edited body),
deleted by its source of truth (propagated as deletes), and merged as a duplicate from the CLI."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from entity_support import eventually, running_hub
from interlace.connectors.sqlite import SqliteConnector, SqliteSettings
from interlace.hub import Hub

from support import free_port, interlace

CONFIG = """
hub: {name: life, store: "sqlite:///hub.db", poll: 20ms}
owners: {sales-ops: {email: sales@acme.test}}
systems:
  crm: {connector: sqlite, path: crm.db, setup: crm.sql}
  erp: {connector: sqlite, path: erp.db, setup: erp.sql}
  shop: {connector: webhook}
entities:
  customer:
    key: email
    schema:
      type: object
      required: [email, name]
      properties: {email: {type: string}, name: {type: string}, points: {type: [integer, "null"]}}
    source_of_truth: crm
    owner: sales-ops
    fields: {points: {owner: shop}}
    mode: integrate
    subscribers:
      crm:
        trigger: {table: contacts, capture: true, every: 50ms}
        deliver: {table: contacts, mode: mirror, key: email}
      erp:
        deliver: {table: customers, mode: mirror, key: email}
      shop:
        trigger: {event: customer.updated}
"""
SCHEMA = "CREATE TABLE IF NOT EXISTS {t} (email TEXT PRIMARY KEY, name TEXT, points INTEGER);"


class Life:
    def __init__(self, folder: Path, hub: Hub, port: int) -> None:
        self.folder, self.hub, self.port = folder, hub, port

    def sql(self, db: str, statement: str, *args: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.folder / db) as conn:
            return conn.execute(statement, args).fetchall()

    def erp(self, email: str) -> tuple[Any, ...] | None:
        rows = self.sql("erp.db", "SELECT email, name, points FROM customers WHERE email = ?", email)
        return rows[0] if rows else None

    async def shop(self, body: dict[str, Any]) -> None:
        async with httpx.AsyncClient() as client:
            url = f"http://127.0.0.1:{self.port}/hooks/shop/customer.updated"
            (await client.post(url, json=body)).raise_for_status()

    async def settled(self) -> None:
        await self.hub.worker.drain(timeout=20)
        await asyncio.sleep(0.3)
        await self.hub.worker.drain(timeout=20)


@pytest.fixture
async def life(tmp_path: Path) -> AsyncIterator[Life]:
    (tmp_path / "crm.sql").write_text(SCHEMA.format(t="contacts"))
    (tmp_path / "erp.sql").write_text(SCHEMA.format(t="customers"))
    config = tmp_path / "hub.yaml"
    config.write_text(CONFIG)
    with sqlite3.connect(tmp_path / "erp.db") as conn:
        conn.executescript(SCHEMA.format(t="customers"))
    crm = SqliteConnector("crm", SqliteSettings(path=tmp_path / "crm.db", setup=tmp_path / "crm.sql"))
    await crm.install_capture("contacts")
    await crm.close()
    port = free_port()
    async with running_hub(config, port) as hub:
        yield Life(tmp_path, hub, port)


async def test_an_incomplete_record_is_held_until_its_data_arrives(life: Life) -> None:
    await life.shop({"email": "new@x.test", "points": 5})
    await life.settled()
    [held] = await life.hub.backend.exceptions(owner="sales-ops")
    assert held.reason.startswith("held: customer new@x.test lacks required name")
    assert life.erp("new@x.test") is None, "an incomplete record is not propagated"
    await life.shop({"email": "new@x.test", "points": 6})
    await life.settled()
    assert len(await life.hub.backend.exceptions()) == 1, "still held: one exception, not one per change"

    life.sql("crm.db", "INSERT INTO contacts (email, name) VALUES ('new@x.test', 'Newton')")

    async def released() -> bool:
        return life.erp("new@x.test") == ("new@x.test", "Newton", 6)

    await eventually(released, what="the completed record in the erp, with the shop's points")
    assert await life.hub.backend.exceptions() == []
    assert [e.id for e in await life.hub.backend.exceptions(status="resolved")] == [held.id]
    await life.settled()
    assert life.sql("crm.db", "SELECT points FROM contacts WHERE email = 'new@x.test'") == [(6,)]


async def test_a_held_record_is_released_by_dlq_retry_with_an_edited_body(life: Life) -> None:
    await life.shop({"email": "eve@x.test", "points": 1})
    await life.settled()
    [held] = await life.hub.backend.exceptions()
    edited = {"email": "eve@x.test", "name": "Eve", "points": 1}
    result = await asyncio.to_thread(
        interlace, "dlq", "retry", str(life.folder / "hub.yaml"), str(held.id), "--body", '{"email": "eve@x.test", '
        '"name": "Eve", "points": 1}', check=True,
    )  # fmt: skip
    assert "requeued" in result.stdout

    async def released() -> bool:
        return life.erp("eve@x.test") == ("eve@x.test", "Eve", 1)

    await eventually(released, what="the edited record in the erp and the crm")
    await life.settled()
    assert life.sql("crm.db", "SELECT email, name, points FROM contacts WHERE email = 'eve@x.test'") == [
        tuple(edited.values())
    ]
    assert await life.hub.backend.exceptions() == []


async def test_a_delete_in_the_source_of_truth_propagates(life: Life) -> None:
    life.sql("crm.db", "INSERT INTO contacts (email, name) VALUES ('gone@x.test', 'Gone')")

    async def in_erp() -> bool:
        return life.erp("gone@x.test") is not None

    await eventually(in_erp, what="the customer in the erp")
    life.sql("crm.db", "DELETE FROM contacts WHERE email = 'gone@x.test'")

    async def deleted() -> bool:
        return life.erp("gone@x.test") is None

    await eventually(deleted, what="the delete in the erp")
    record = (await life.hub.backend.golden("customer", ["gone@x.test"]))["gone@x.test"]
    assert record.status == "deleted"
    await life.settled()
    assert await life.hub.backend.exceptions() == []


async def test_two_keys_found_to_be_one_customer_are_merged(life: Life) -> None:
    life.sql("crm.db", "INSERT INTO contacts (email, name) VALUES ('ann@x.test', 'Ann')")
    life.sql("crm.db", "INSERT INTO contacts (email, name) VALUES ('ann.lee@x.test', 'Ann Lee')")
    await life.shop({"email": "ann.lee@x.test", "name": "Ann Lee", "points": 40})

    async def both_in_erp() -> bool:
        return life.erp("ann@x.test") is not None and life.erp("ann.lee@x.test") == ("ann.lee@x.test", "Ann Lee", 40)

    await eventually(both_in_erp, what="both customers in the erp")
    await life.settled()
    config = str(life.folder / "hub.yaml")
    merged = await asyncio.to_thread(
        interlace, "entity", "merge", config, "customer", "ann@x.test", "ann.lee@x.test", check=True
    )
    assert "gained points" in merged.stdout

    async def merged_in_systems() -> bool:
        crm = life.sql("crm.db", "SELECT email, name, points FROM contacts ORDER BY email")
        return life.erp("ann.lee@x.test") is None and crm == [("ann@x.test", "Ann", 40)]

    await eventually(merged_in_systems, what="the duplicate gone from both systems, its points kept")
    assert life.erp("ann@x.test") == ("ann@x.test", "Ann", 40)
    found = await life.hub.backend.golden("customer", ["ann@x.test", "ann.lee@x.test"])
    assert (found["ann.lee@x.test"].status, found["ann.lee@x.test"].merged_into) == ("merged", "ann@x.test")
    again = await asyncio.to_thread(interlace, "entity", "merge", config, "customer", "ann@x.test", "ann.lee@x.test")
    assert again.returncode == 1 and "is merged" in again.stderr
    await life.settled()
    assert await life.hub.backend.exceptions() == [], "the crm's capture of our deletes is not a conflict"
