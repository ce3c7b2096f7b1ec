"""/healthz (alive: the event loop answers, the worker's loops and the store's writer run) and
/readyz (ready: the store takes a write, no flow is at its back-pressure bound, the config is
loaded and running), both without a token, on the main and the webhooks' listener."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from interlace.config.loader import load_config
from interlace.hub import Hub
from interlace.web.app import build_webhook_app

CONFIG = """
hub: {name: probed, lease: 5s}
systems:
  shop: {connector: webhook}
  db: {connector: sqlite, path: ./out.db, setup: ./schema.sql}
flows:
  orders:
    trigger: {system: shop, event: order}
    deliver: {system: db, table: orders, mode: insert}
    max_pending: 2
  nightly:
    trigger: {schedule: "0 3 * * *"}
    deliver: {system: db, table: orders, mode: insert}
"""


@pytest.fixture
async def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Hub]:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "schema.sql").write_text("CREATE TABLE IF NOT EXISTS orders (id TEXT);")
    (tmp_path / "hub.yaml").write_text(CONFIG)
    hub = Hub(load_config(tmp_path / "hub.yaml"))
    await hub.start()
    yield hub
    await hub.stop()


async def get(app: Any, path: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub") as client:
        return await client.get(path)


async def test_healthz_is_ok_while_the_loops_run_and_down_when_the_worker_ends(hub: Hub) -> None:
    for app in (hub.app(), build_webhook_app(hub)):
        r = await get(app, "/healthz")
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["status"] == "ok" and body["down"] == []
        assert body["tasks"]["worker"] == body["tasks"]["schedule:nightly"] == "running"
        assert isinstance(body["loop_lag_ms"], float)
    [worker] = [t for t in hub._tasks if t.get_name() == "worker"]
    worker.cancel()
    await asyncio.gather(worker, return_exceptions=True)
    r = await get(hub.app(), "/healthz")
    assert r.status_code == 503 and r.json()["status"] == "down"
    assert set(r.json()["down"]) == {"worker", "lease-heartbeat"}


async def test_readyz_checks_the_store_backpressure_and_config(hub: Hub) -> None:
    r = await get(hub.app(), "/readyz")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "status": "ready",
        "checks": {"store": "writable", "backpressure": {}, "config": {"loaded": True, "flows": 2}},
    }

    await hub.worker.stop()  # nothing is delivered now: the flow fills up to its bound of 2
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=hub.app()), base_url="http://hub") as client:
        codes = [(await client.post("/hooks/shop/order", json={"id": str(i)})).status_code for i in range(3)]
    assert codes == [202, 202, 429]
    r = await get(build_webhook_app(hub), "/readyz")
    assert r.status_code == 503
    assert r.json()["checks"]["backpressure"] == {"orders": {"pending": 2, "bound": 2}}

    await hub.backend.close()  # a store that takes no write
    r = await get(hub.app(), "/readyz")
    assert r.status_code == 503 and r.json()["checks"]["store"].startswith("not writable: RuntimeError")
    health = await get(hub.app(), "/healthz")
    assert health.status_code == 503 and "store" in health.json()["down"]


async def test_a_hub_not_started_is_neither_alive_nor_ready(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "hub.yaml").write_text(CONFIG)
    hub = Hub(load_config(tmp_path / "hub.yaml"))
    await hub.backend.open()
    try:
        assert (await get(hub.app(), "/healthz")).status_code == 503
        r = await get(hub.app(), "/readyz")
        assert r.status_code == 503 and r.json()["checks"]["config"]["loaded"] is False
    finally:
        await hub.backend.close()
