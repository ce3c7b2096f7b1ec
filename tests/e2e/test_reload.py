"""A config change while the hub is under load: the running hub reloads it, the new mapping
applies to later messages, and no message is lost or delivered twice."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from support import HubProcess, free_port

CONFIG = """
hub: {{name: reload, port: {port}, lease: 2s}}
owners: {{ops: {{email: ops@example.test}}}}
systems:
  shop: {{connector: webhook}}
  erp: {{connector: sqlite, path: ./erp.db, setup: ./schema.sql}}
flows:
  orders:
    trigger: {{system: shop}}
    steps:
      - map: '{{"order_no": id, "version": {version}}}'
    deliver: {{system: erp, table: orders, mode: insert}}
    on_error: {{owner: ops}}
"""


def rows(db: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(db) as conn:
        try:
            return conn.execute("SELECT order_no, version FROM orders").fetchall()
        except sqlite3.OperationalError:  # the sink creates its table on first delivery
            return []


async def send_until(url: str, stop: asyncio.Event, acked: list[str]) -> None:
    """Ten senders POST orders until `stop` is set; each order answered 202 goes in `acked`."""
    async with httpx.AsyncClient(timeout=30) as client:
        i = 0

        async def sender(n: int) -> None:
            nonlocal i
            while not stop.is_set():
                i += 1
                order_id = f"O{n}-{i}"
                r = await client.post(url, json={"id": order_id})
                if r.status_code == 202:
                    acked.append(order_id)

        await asyncio.gather(*(sender(n) for n in range(10)))


async def until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    """Wait for `condition`; `timeout` bounds a stuck hub, it is no speed target."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        await asyncio.sleep(0.05)


def test_reload_under_load_loses_nothing(tmp_path: Path, hub_process: list[HubProcess]) -> None:
    port = free_port()
    config = tmp_path / "hub.yaml"
    config.write_text(CONFIG.format(port=port, version=1))
    (tmp_path / "schema.sql").write_text("CREATE TABLE IF NOT EXISTS orders (order_no TEXT, version INTEGER);")
    hub = HubProcess(config, port)
    hub_process.append(hub)
    hub.start()

    acked: list[str] = []

    async def scenario() -> None:
        stop = asyncio.Event()
        sending = asyncio.create_task(send_until(f"{hub.url}/hooks/shop", stop, acked))
        try:
            await until(lambda: len(acked) >= 50, "50 orders answered before the change")
            config.write_text(CONFIG.format(port=port, version=2))
            await until(lambda: 2 in {v for _, v in rows(tmp_path / "erp.db")}, "an order mapped by the new config")
            before = len(acked)
            await until(lambda: len(acked) >= before + 50, "50 more orders answered after the reload")
        finally:
            stop.set()
            await sending

    asyncio.run(scenario())
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(rows(tmp_path / "erp.db")) < len(acked):
        time.sleep(0.1)
    delivered = rows(tmp_path / "erp.db")
    order_nos = [r[0] for r in delivered]
    missing = set(acked) - set(order_nos)
    twice = {o for o in order_nos if order_nos.count(o) > 1}
    assert not missing and not twice, f"missing {sorted(missing)[:5]}, delivered twice {sorted(twice)[:5]}"
    versions = {r[1] for r in delivered}
    assert versions == {1, 2}, "the new mapping took over while the hub kept running"
    assert hub.proc is not None and hub.proc.poll() is None, "the hub is still running"


def test_a_broken_config_change_is_refused_and_the_hub_keeps_running(
    tmp_path: Path, hub_process: list[HubProcess]
) -> None:
    port = free_port()
    config = tmp_path / "hub.yaml"
    config.write_text(CONFIG.format(port=port, version=1))
    (tmp_path / "schema.sql").write_text("CREATE TABLE IF NOT EXISTS orders (order_no TEXT, version INTEGER);")
    hub = HubProcess(config, port)
    hub_process.append(hub)
    hub.start()
    config.write_text(CONFIG.format(port=port, version="$sum("))
    time.sleep(2.5)
    assert httpx.post(f"{hub.url}/hooks/shop", json={"id": "after"}).status_code == 202
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not rows(tmp_path / "erp.db"):
        time.sleep(0.05)
    assert rows(tmp_path / "erp.db") == [("after", 1)]
    output = hub.stop()
    assert "config change refused" in output and "invalid JSONata" in output
