"""Kill -9 of the hub while webhook orders are in flight, then restart: every order that got a
202 is delivered exactly once (the sink table has no unique key, so a second delivery would show
as a second row). Also with `--processes 2`, and in an overload (a slow receiving system, a
small bound: most senders are told 429) where the backlog must stay within its bound."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from support import HubProcess, Receiver, free_port

CONFIG = """
hub: {{name: crash, port: {port}, lease: 2s, workers: 32}}
owners: {{ops: {{email: ops@example.test}}}}
systems:
  shop: {{connector: webhook}}
  erp: {{connector: sqlite, path: ./erp.db, setup: ./schema.sql}}
flows:
  orders:
    trigger: {{system: shop}}
    steps:
      - map: '{{"order_no": id, "total": $sum(lines.(qty * price))}}'
    deliver: {{system: erp, table: orders, mode: insert}}
    on_error: {{owner: ops, retry: {{attempts: 20, backoff: "100ms..1s"}}}}
"""


async def post_orders(
    url: str, count: int, concurrency: int, answered: dict[str, int], refused: list[str] | None = None
) -> None:
    """POST `count` orders, recording {order id: HTTP status} in `answered` as answers come (an
    order refused with 429 is sent again after its Retry-After, as a well-behaved sender would;
    the wait is shortened to keep the test quick)."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)
    async with httpx.AsyncClient(timeout=5) as client:

        async def sender() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                order_id = f"O{i:05d}"
                try:
                    r = await client.post(url, json={"id": order_id, "lines": [{"qty": 1, "price": i}]})
                    answered[order_id] = r.status_code
                    if r.status_code == 429:
                        assert r.headers["retry-after"]
                        if refused is not None:
                            refused.append(order_id)
                        queue.put_nowait(i)
                        await asyncio.sleep(0.05)
                except httpx.HTTPError:
                    pass  # the hub died with this request in flight: not acknowledged

        await asyncio.gather(*(sender() for _ in range(concurrency)))


def rows_per_order(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT order_no, count(*) FROM orders GROUP BY order_no").fetchall())


def kill_when(hub: HubProcess, answered: dict[str, int], after: int) -> None:
    # list() copies the answers in one step: the senders' loop adds to the dict from another thread
    while sum(1 for s in list(answered.values()) if s == 202) < after:
        time.sleep(0.005)
    hub.kill()


def send_and_kill(hub: HubProcess, orders: int, refused: list[str] | None = None) -> set[str]:
    """Send `orders` from 50 clients, kill -9 the hub when a third are acknowledged; the ids of
    the acknowledged ones."""

    async def scenario() -> dict[str, int]:
        answered: dict[str, int] = {}
        sending = asyncio.create_task(post_orders(f"{hub.url}/hooks/shop", orders, 50, answered, refused))
        await asyncio.to_thread(kill_when, hub, answered, orders // 3)
        await sending
        return answered

    answered = asyncio.run(scenario())
    acked = {k for k, s in answered.items() if s == 202}
    assert len(acked) >= orders // 3
    assert len(acked) < orders, "the kill came after every order was answered; nothing was in flight"
    return acked


def wait_delivered(acked: set[str], delivered: Callable[[], dict[str, int]], timeout: float = 120) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    seen: dict[str, int] = {}
    while time.monotonic() < deadline:
        seen = delivered()
        if acked <= seen.keys():
            break
        time.sleep(0.1)
    missing = acked - seen.keys()
    assert not missing, f"{len(missing)} acknowledged orders never delivered, e.g. {sorted(missing)[:5]}"
    return seen


@pytest.mark.parametrize("processes", [1, 2])
def test_kill_9_loses_and_duplicates_nothing(tmp_path: Path, hub_process: list[HubProcess], processes: int) -> None:
    orders = 1000
    port = free_port()
    (tmp_path / "hub.yaml").write_text(CONFIG.format(port=port))
    (tmp_path / "schema.sql").write_text("CREATE TABLE IF NOT EXISTS orders (order_no TEXT, total NUMERIC);")
    hub = HubProcess(tmp_path / "hub.yaml", port, processes=processes)
    hub_process.append(hub)
    hub.start()
    acked = send_and_kill(hub, orders)

    hub.start()
    seen = wait_delivered(acked, lambda: rows_per_order(tmp_path / "erp.db"))
    print(f"acked {len(acked)} of {orders}; rows {sum(seen.values())}")
    duplicated = {k: n for k, n in seen.items() if n > 1}
    assert not duplicated, f"delivered more than once: {duplicated}"


OVERLOAD = """
hub: {{name: overload, port: {port}, lease: 5s, max_pending: {bound}}}
owners: {{ops: {{email: ops@example.test}}}}
systems:
  shop: {{connector: webhook}}
  slow: {{connector: http, base_url: "http://127.0.0.1:{receiver}", concurrency: 2}}
flows:
  orders:
    trigger: {{system: shop}}
    steps:
      - map: '{{"order_no": id, "total": $sum(lines.(qty * price))}}'
    deliver: {{system: slow, method: POST, path: /orders}}
    on_error: {{owner: ops, retry: {{attempts: 20, backoff: "100ms..1s"}}}}
"""


def test_kill_9_in_an_overload_keeps_the_bound_and_loses_nothing(
    tmp_path: Path, hub_process: list[HubProcess]
) -> None:
    """A receiver that takes about 40 orders/s, 50 senders as fast as they can: the backlog
    never passes its bound (the store checks it in the transaction that would pass it), the
    senders get 429 with Retry-After, and after a kill -9 every acknowledged order arrives, each
    under one Idempotency-Key (a receiver that honours the key counts it once)."""
    orders, bound = 900, 100
    # slow enough that the senders outrun it whatever else the machine is doing
    receiver = Receiver(tmp_path, delay=0.05).start()
    try:
        port = free_port()
        (tmp_path / "hub.yaml").write_text(OVERLOAD.format(port=port, bound=bound, receiver=receiver.port))
        hub = HubProcess(tmp_path / "hub.yaml", port)
        hub_process.append(hub)
        hub.start()
        backlog: list[int] = []
        watching = [True]

        def watch() -> None:
            while watching[0]:
                try:
                    backlog.append(httpx.get(hub.url + "/health", timeout=5).json()["pending"])
                except (httpx.HTTPError, ValueError):
                    pass
                time.sleep(0.05)

        watcher = threading.Thread(target=watch)
        watcher.start()
        refused: list[str] = []
        try:
            acked = send_and_kill(hub, orders, refused)
        finally:
            watching[0] = False
            watcher.join()
        assert backlog and max(backlog) <= bound, f"the backlog passed its bound {bound}: {max(backlog)}"
        assert refused, "the senders outran the receiver, yet none was told 429"
        hub.start()

        def delivered() -> dict[str, int]:
            keys: dict[str, set[str]] = {}
            for key, order_id in receiver.received():
                keys.setdefault(order_id, set()).add(key)
            return {k: len(v) for k, v in keys.items()}

        seen = wait_delivered(acked, delivered)
        two_keys = {k: n for k, n in seen.items() if n > 1}
        assert not two_keys, f"an order arrived under two idempotency keys: {two_keys}"
        print(f"acked {len(acked)} of {orders}, {len(refused)} refused; backlog at most {max(backlog)} of {bound}")
    finally:
        receiver.stop()
