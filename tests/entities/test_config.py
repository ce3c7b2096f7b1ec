"""Entity subscribers in the config: every problem with its YAML path and line, the flows the hub
generates from them, and interact mode passing changes straight through (no golden record)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from entity_support import eventually, running_hub
from interlace.config.entities import entity_flows
from interlace.config.loader import load_config
from interlace.errors import ConfigError

from support import free_port

BROKEN = """\
systems:
  crm: {connector: sqlite, path: crm.db}
  shop: {connector: webhook}
  api: {connector: http, base_url: "http://127.0.0.1:1"}
entities:
  customer:
    key: email
    mode: interact
    subscribers:
      crm:
        trigger: {table: contacts, cursor: updated_at, wobble: 1}
        deliver: {table: contacts, mode: upsert, key: email}
        inbound: '{"a": $sum(}'
      api:
        trigger: {event: x}
        deliver: {method: PUT, path: /c}
      shop:
        trigger: {event: customer.updated}
        deliver: {method: POST}
      nowhere:
        deliver: {table: t}
"""


def test_every_subscriber_problem_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "hub.yaml"
    path.write_text(BROKEN)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    found = {(p.path, p.line) for p in info.value.problems}
    messages = " | ".join(str(p) for p in info.value.problems)
    assert ("entities.customer.subscribers.crm.trigger.wobble", 11) in found, messages
    assert ("entities.customer.subscribers.crm.inbound", 13) in found, messages
    # an http system's trigger reads a list from the API (connectors/http/source.py): it needs a path
    assert ("entities.customer.subscribers.api.trigger.path", 15) in found, messages
    assert ("entities.customer.subscribers.shop.deliver", 19) in found, messages  # a webhook cannot receive
    assert ("entities.customer.subscribers.nowhere", 20) in found, messages
    assert "no system named 'nowhere'" in messages
    assert "would echo them back and forth" in messages, "interact mode both ways is refused"


INTERACT = """
hub: {name: phase1, store: "sqlite:///hub.db", poll: 20ms}
systems:
  crm: {connector: sqlite, path: crm.db, setup: crm.sql}
  erp: {connector: sqlite, path: erp.db, setup: erp.sql}
entities:
  customer:
    key: email
    schema: {type: object, properties: {email: {type: string}, name: {type: string}, secret: {type: string}}}
    source_of_truth: crm
    local: {crm: [secret]}
    mode: interact
    subscribers:
      crm:
        trigger: {table: contacts, cursor: updated_at, key: email, every: 50ms}
        inbound: '{"email": email, "name": full_name, "secret": secret}'
      erp:
        deliver: {table: customers, mode: upsert, key: email}
"""


def test_the_generated_flows(tmp_path: Path) -> None:
    (tmp_path / "hub.yaml").write_text(INTERACT)
    entity = load_config(tmp_path / "hub.yaml").config.entities["customer"]
    flows = {f.name: f for f in entity_flows("customer", entity)}
    assert sorted(flows) == ["customer:from:crm", "customer:to:erp"]
    inbound = flows["customer:from:crm"].flow
    assert (inbound.trigger.system, inbound.trigger.extras["table"]) == ("crm", "contacts")
    assert flows["customer:to:erp"].flow.deliver[0].system == "erp"


async def test_interact_mode_passes_changes_through_without_a_golden_record(tmp_path: Path) -> None:
    (tmp_path / "crm.sql").write_text(
        "CREATE TABLE IF NOT EXISTS contacts (email TEXT PRIMARY KEY, full_name TEXT, secret TEXT,"
        " updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')));"
    )
    (tmp_path / "erp.sql").write_text("CREATE TABLE IF NOT EXISTS customers (email TEXT PRIMARY KEY, name TEXT);")
    with sqlite3.connect(tmp_path / "crm.db") as conn:
        conn.executescript((tmp_path / "crm.sql").read_text())
        conn.execute("INSERT INTO contacts (email, full_name, secret) VALUES ('ann@x.test', 'Ann', 'pssst')")
    with sqlite3.connect(tmp_path / "erp.db") as conn:
        conn.executescript((tmp_path / "erp.sql").read_text())
    config = tmp_path / "hub.yaml"
    config.write_text(INTERACT)
    async with running_hub(config, free_port()) as hub:

        async def in_erp() -> bool:
            with sqlite3.connect(tmp_path / "erp.db") as conn:
                return conn.execute("SELECT email, name FROM customers").fetchall() == [("ann@x.test", "Ann")]

        await eventually(in_erp, what="the crm's customer in the erp")
        await asyncio.sleep(0.2)
        assert await hub.backend.golden_page("customer", None, 10) == [], "interact mode keeps no golden record"
        assert await hub.backend.exceptions() == [], "the crm's local secret was not sent (erp has no such column)"
