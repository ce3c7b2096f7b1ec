"""Flow control: a flow holds at most its bound of undelivered work items; past it the webhook
answers 429 with Retry-After and stores nothing, a pull source waits, /health says why; and an
Idempotency-Key reused with another body is refused with 409."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from interlace.config.loader import load_config
from interlace.connectors.base import Incoming
from interlace.errors import Backpressure
from interlace.hub import Hub

CONFIG = """
hub: {name: bounded, max_pending: 5}
owners: {ops: {email: ops@example.test}}
systems:
  shop: {connector: webhook}
  partner: {connector: webhook}
  erp: {connector: sqlite, path: ./erp.db, setup: ./schema.sql}
flows:
  orders:
    trigger: {system: shop}
    deliver: {system: erp, table: orders, mode: upsert, key: id}
    on_error: {owner: ops}
  roomy:
    max_pending: 50
    trigger: {system: partner}
    deliver: {system: erp, table: orders, mode: upsert, key: id}
    on_error: {owner: ops}
"""


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[Hub]:
    (tmp_path / "hub.yaml").write_text(CONFIG)
    (tmp_path / "schema.sql").write_text("CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY, n INTEGER);")
    hub = Hub(load_config(tmp_path / "hub.yaml"))
    await hub.start(workers=False)  # nothing is delivered until a test starts the worker
    yield hub
    await hub.stop()


def client(hub: Hub) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=hub.app()), base_url="http://hub")


async def test_a_full_flow_answers_429_and_stores_nothing(hub: Hub) -> None:
    async with client(hub) as c:
        for i in range(5):
            assert (await c.post("/hooks/shop", json={"id": f"o{i}", "n": i})).status_code == 202
        full = await c.post("/hooks/shop", json={"id": "o5", "n": 5})
        assert full.status_code == 429
        assert full.headers["retry-after"] == "1"
        assert "bound 5" in full.json()["error"]
        assert await hub.backend.pending() == 5, "the refused order was not stored"
        health = (await c.get("/health")).json()
        assert health["status"] == "backpressure"
        assert health["backpressure"] == {"orders": {"pending": 5, "bound": 5}}
        # another flow with its own bound still takes events
        assert (await c.post("/hooks/partner", json={"id": "r1", "n": 1})).status_code == 202


async def test_the_flow_takes_events_again_once_delivered(hub: Hub) -> None:
    ingress = hub.ingress
    clock = [0.0]
    ingress.clock = lambda: clock[0]
    async with client(hub) as c:
        for i in range(5):
            await c.post("/hooks/shop", json={"id": f"o{i}", "n": i})
        assert (await c.post("/hooks/shop", json={"id": "late", "n": 9})).status_code == 429
        hub._tasks.append(asyncio.create_task(hub.worker.run()))
        await hub.worker.drain(timeout=60)
        # refused at once while the flow was known full a moment ago, without asking the store
        assert (await c.post("/hooks/shop", json={"id": "late", "n": 9})).status_code == 429
        clock[0] += 1.0  # the known-full mark has expired: the store is asked again
        assert (await c.post("/hooks/shop", json={"id": "late", "n": 9})).status_code == 202
        assert (await c.get("/health")).json()["status"] == "ok"


async def test_a_pull_source_waits_while_its_flow_is_full(hub: Hub) -> None:
    await hub.ingress.submit("orders", [Incoming(body={"id": f"p{i}", "n": i}) for i in range(5)])
    with pytest.raises(Backpressure):  # a push source is refused ...
        await hub.ingress.receive("shop", None, Incoming(body={"id": "x", "n": 0}))
    # ... a pull source (a poller, a folder watcher) waits until there is room
    waiting = asyncio.create_task(hub.ingress.submit("orders", [Incoming(body={"id": "p5", "n": 5})]))
    await asyncio.sleep(0.3)
    assert not waiting.done(), "the source is paused while the flow is full"
    hub._tasks.append(asyncio.create_task(hub.worker.run()))
    [message_id] = await asyncio.wait_for(waiting, timeout=60)
    await hub.worker.drain(timeout=60)
    assert message_id and await hub.backend.pending() == 0


async def test_an_idempotency_key_with_another_body_is_refused(hub: Hub) -> None:
    async with client(hub) as c:
        first = await c.post("/hooks/shop", json={"id": "k1", "n": 1}, headers={"Idempotency-Key": "abc"})
        again = await c.post("/hooks/shop", json={"id": "k1", "n": 1}, headers={"Idempotency-Key": "abc"})
        other = await c.post("/hooks/shop", json={"id": "k1", "n": 2}, headers={"Idempotency-Key": "abc"})
    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"], "a repeat is answered with the first message"
    assert other.status_code == 409
    assert other.json()["message_id"] == first.json()["id"]
    assert await hub.backend.pending() == 1
