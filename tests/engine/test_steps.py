"""Steps in a running hub (in-process, real SQLite sink): validate, map, filter, route, split,
python; bad data is parked at once with its owner, never retried."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from interlace.config.loader import load_config
from interlace.connectors.base import Incoming
from interlace.hub import Hub
from interlace.web.auth import create_token

CONFIG = """
hub: {name: steps, lease: 5s}
owners: {ops: {email: ops@x.test}}
systems:
  shop: {connector: webhook}
  db: {connector: sqlite, path: ./out.db, setup: ./schema.sql}
entities:
  line:
    key: sku
    schema: {type: object, required: [sku, qty], properties: {sku: {type: string}, qty: {type: integer}}}
flows:
  orders:
    trigger: {system: shop, event: order}
    steps:
      - route: [{when: "total > 1000", to: approvals}]
      - split: 'lines.{"order": %.id, "sku": sku, "qty": qty}'
      - validate: line
      - filter: qty > 0
      - python: "tests_support_upper:upper_sku"
    deliver: {system: db, table: lines, mode: insert}
    on_error: {owner: ops, retry: {attempts: 5, backoff: 10ms}}
  approvals:
    trigger: {system: shop, event: approval}
    steps:
      - map: '{"order": id, "total": total}'
    deliver: {system: db, table: approvals, mode: upsert, key: order}
    on_error: {owner: ops}
"""

SCHEMA = """
CREATE TABLE IF NOT EXISTS lines (order_id TEXT, "order" TEXT, sku TEXT, qty INTEGER);
CREATE TABLE IF NOT EXISTS approvals ("order" TEXT PRIMARY KEY, total NUMERIC);
"""


@pytest.fixture
async def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Hub]:
    (tmp_path / "tests_support_upper.py").write_text(
        "def upper_sku(body):\n    return {**body, 'sku': body['sku'].upper()}\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "hub.yaml").write_text(CONFIG)
    (tmp_path / "schema.sql").write_text(SCHEMA)
    h = Hub(load_config(tmp_path / "hub.yaml"))
    await h.start()
    yield h
    await h.stop()


def rows(hub: Hub, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(hub.loaded.base_dir / "out.db") as conn:
        return conn.execute(sql).fetchall()


async def test_split_filter_validate_python(hub: Hub) -> None:
    order = {"id": "O1", "total": 10, "lines": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 0}, {"sku": "c", "qty": 2}]}
    [mid] = await hub.ingress.submit("orders", [Incoming(order, event="order")])
    await hub.worker.drain()
    assert rows(hub, 'SELECT "order", sku, qty FROM lines ORDER BY sku') == [("O1", "A", 1), ("O1", "C", 2)]
    statuses = [(t.message_id.removeprefix(mid), t.stage, t.status) for t in await hub.backend.trace(mid)]
    assert ("", "split", "split") in statuses
    assert (".1", "filter", "filtered") in statuses
    assert (".2", "python:tests_support_upper:upper_sku", "ok") in statuses
    assert (".0", "deliver:db", "ok") in statuses


async def test_route_sends_big_orders_to_another_flow(hub: Hub) -> None:
    await hub.ingress.submit("orders", [Incoming({"id": "BIG", "total": 5000, "lines": []}, event="order")])
    await hub.worker.drain()
    assert rows(hub, 'SELECT "order", total FROM approvals') == [("BIG", 5000)]
    assert rows(hub, "SELECT count(*) FROM lines") == [(0,)]


async def test_bad_data_is_parked_at_once_with_owner(hub: Hub) -> None:
    order = {"id": "O2", "total": 1, "lines": [{"sku": "a", "qty": "many"}]}
    [mid] = await hub.ingress.submit("orders", [Incoming(order, event="order")])
    await hub.worker.drain()
    [exc] = await hub.backend.exceptions()
    assert exc.owner == "ops" and exc.stage == "validate:line" and exc.position == 2
    assert "qty: 'many' is not of type 'integer'" in exc.reason
    assert exc.message.id == f"{mid}.0" and exc.message.body == {"order": "O2", "sku": "a", "qty": "many"}
    assert [t.status for t in await hub.backend.trace(mid) if t.status in ("retry", "failed")] == ["failed"]

    assert await hub.backend.retry_exception(exc.id, body={"order": "O2", "sku": "a", "qty": 3})
    await hub.worker.drain()
    assert rows(hub, 'SELECT "order", sku, qty FROM lines') == [("O2", "A", 3)]


async def test_mapping_error_is_an_exception(hub: Hub) -> None:
    hub.flows["approvals"].steps[0].expression = __import__(
        "interlace.mapping.jsonata", fromlist=["x"]
    ).compile_expression('$error("no total")')
    await hub.ingress.submit("approvals", [Incoming({"id": "X", "total": 1}, event="approval")])
    await hub.worker.drain()
    [exc] = await hub.backend.exceptions()
    assert exc.stage == "map" and "no total" in exc.reason


async def test_webhook_answers_after_persisting(hub: Hub) -> None:
    transport = httpx.ASGITransport(app=hub.app())
    async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
        r = await client.post("/hooks/shop/approval", json={"id": "W", "total": 3}, headers={"Idempotency-Key": "k"})
        assert r.status_code == 202
        again = await client.post(
            "/hooks/shop/approval", json={"id": "W", "total": 3}, headers={"Idempotency-Key": "k"}
        )
        assert again.json()["id"] == r.json()["id"], "a repeated Idempotency-Key is recognised"
        health = await client.get("/health")
        assert health.json()["status"] == "ok"
        viewer, _ = await create_token(hub.backend, "metrics", "viewer", "test")  # /metrics needs a token
        metrics = await client.get("/metrics", headers={"Authorization": f"Bearer {viewer}"})
        assert "interlace_messages_received_total" in metrics.text
    await hub.worker.drain()
    assert rows(hub, 'SELECT "order", total FROM approvals') == [("W", 3)]
    [counts] = [c for c in await hub.backend.counts() if c.flow == "approvals"]
    assert counts.received == 1
