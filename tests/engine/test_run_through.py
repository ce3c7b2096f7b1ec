"""A message whose steps pass is delivered in the same lease: no second work item, no second
trip through the store. A delivery that fails on the way becomes a work item of its own (due
at its retry, with its attempt counted) or an exception, while the message's other deliveries
are done."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from interlace.config.loader import load_config
from interlace.connectors.base import Incoming
from interlace.hub import Hub

CONFIG = """
hub: {name: through}
owners: {ops: {email: ops@example.test}}
systems:
  shop: {connector: webhook}
  erp: {connector: sqlite, path: ./erp.db, setup: ./schema.sql}
flows:
  orders:
    trigger: {system: shop}
    steps:
      - map: '{"id": id, "n": n * 2}'
    deliver:
      - {system: erp, table: orders, mode: upsert, key: id}
      - {system: erp, table: audit, mode: upsert, key: id}
    on_error: {owner: ops, retry: {attempts: 3, backoff: "10s..1m"}}
"""
SCHEMA = "CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY, n INTEGER);"
AUDIT = "CREATE TABLE audit (id TEXT PRIMARY KEY, n INTEGER CHECK (n < 100));"


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[Hub]:
    (tmp_path / "hub.yaml").write_text(CONFIG)
    (tmp_path / "schema.sql").write_text(SCHEMA)
    hub = Hub(load_config(tmp_path / "hub.yaml"))
    await hub.start(workers=False)
    yield hub
    await hub.stop()


def rows(hub: Hub, table: str) -> dict[str, int]:
    with sqlite3.connect(hub.loaded.base_dir / "erp.db") as conn:
        return dict(conn.execute(f"SELECT id, n FROM {table}").fetchall())


async def run_once(hub: Hub) -> int:
    """Lease what is due and run it as the worker's dispatch loop does; how many were leased."""
    items = await hub.backend.lease(hub.worker.owner, 100, 30)
    for batch in hub.worker._batches(items):
        hub.worker._inflight += len(batch)
        await hub.worker._run_batch(batch)
    return len(items)


async def test_steps_and_deliveries_take_one_lease(hub: Hub) -> None:
    await hub.ingress.submit("orders", [Incoming(body={"id": "first", "n": 0})])
    await run_once(hub)  # the sink's setup runs on its first delivery; audit is not in it
    with sqlite3.connect(hub.loaded.base_dir / "erp.db") as conn:
        conn.execute(AUDIT)
    with sqlite3.connect(hub.loaded.base_dir / ".interlace/hub.db") as conn:
        conn.execute("DELETE FROM work")
    await hub.ingress.submit("orders", [Incoming(body={"id": f"o{i}", "n": i}) for i in range(20)])
    assert await run_once(hub) == 20
    assert await hub.backend.pending() == 0, "delivered on the way: nothing was queued again"
    assert rows(hub, "orders") == {"first": 0, **{f"o{i}": i * 2 for i in range(20)}}
    assert rows(hub, "audit") == {f"o{i}": i * 2 for i in range(20)}


async def test_a_delivery_failing_on_the_way_is_retried_or_parked_alone(hub: Hub) -> None:
    await hub.ingress.submit("orders", [Incoming(body={"id": "big", "n": 500}), Incoming(body={"id": "ok", "n": 1})])
    before = time.time()  # the audit table does not exist yet: its delivery fails, to be retried
    await run_once(hub)
    assert rows(hub, "orders") == {"big": 1000, "ok": 2}, "the first delivery was made for both"
    due = await hub.backend.lease("probe", 10, 30)
    assert due == [], "the failed deliveries wait for their retry, not due yet"
    with sqlite3.connect(hub.loaded.base_dir / ".interlace/hub.db") as conn:
        waiting = conn.execute("SELECT position, attempts, available_at FROM work ORDER BY id").fetchall()
    assert [(p, a) for p, a, _ in waiting] == [(2, 1), (2, 1)], "one work item per failed delivery, attempt 1"
    assert all(at >= before + 5 for _, _, at in waiting), "due after the flow's backoff"
    with sqlite3.connect(hub.loaded.base_dir / "erp.db") as conn:
        conn.execute(AUDIT)
    with sqlite3.connect(hub.loaded.base_dir / ".interlace/hub.db") as conn:
        conn.execute("UPDATE work SET available_at = 0")  # the retry is due
    await run_once(hub)
    assert rows(hub, "audit") == {"ok": 2}, "the good one is delivered on its retry"
    [parked] = await hub.backend.exceptions()
    assert parked.message.body == {"id": "big", "n": 1000} and parked.stage == "deliver:erp"
    assert "CHECK" in parked.reason or "constraint" in parked.reason.lower()
    assert await hub.backend.pending() == 0
