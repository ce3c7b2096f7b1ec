"""RabbitMQ as the bus, beyond the contract: a redelivered id already settled is acked and
skipped, an id whose consumers keep going away is dead-lettered and parked as poison, and a
bus URL is checked. Against the machine's RabbitMQ (a queue per test) and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiormq
import pytest
from pamqp import commands as spec

from backends.stores import AMQP, Store, store
from interlace.backends import open_backend
from interlace.backends.base import NewWork, Settle
from interlace.backends.rabbitmq import RabbitBackend, parse_bus_url
from interlace.message import Message


@pytest.fixture
async def spec_(tmp_path: Path) -> AsyncIterator[Store]:
    async with store("rabbitmq+postgresql", tmp_path) as found:
        yield found


async def queue_depth(backend: RabbitBackend, name: str) -> tuple[int, int]:
    """(ready, consumers) of a queue, by a passive declare on a connection of the test's own."""
    conn = await aiormq.connect(backend.bus_url)
    try:
        channel = await conn.channel()
        ok = await channel.queue_declare(name, passive=True)
        return int(ok.message_count or 0), int(ok.consumer_count or 0)
    finally:
        await conn.close()


async def wait_for(what: str, check: Callable[[], Awaitable[bool]], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.05)


async def test_a_redelivered_id_of_a_settled_item_is_acked_and_skipped(spec_: Store) -> None:
    backend = spec_.open()
    assert isinstance(backend, RabbitBackend)
    await backend.open()
    try:
        m = Message(flow="f", body={"n": 1})
        await backend.enqueue([NewWork(m)])
        [item] = await backend.lease("w", 10, 30)
        assert await backend.settle([Settle(item, delivered=1)]) == [True]
        # the broker hands the id out again (as after a lost ack): it must not run twice
        assert backend._pub is not None
        await backend._pub.basic_publish(
            str(item.id).encode(), routing_key=backend.queue, properties=spec.Basic.Properties(delivery_mode=2)
        )
        async def arrived() -> bool:
            return len(backend._ready) == 1

        await wait_for("the redelivery to arrive", arrived)
        assert await backend.lease("w", 10, 30) == []
        assert await backend.pending() == 0
        [counts] = await backend.counts()
        assert counts.delivered == 1, "delivered once"
        await asyncio.sleep(0.2)
        assert await queue_depth(backend, backend.queue) == (0, 1), "acked: nothing waits on the queue"
    finally:
        await backend.close()


async def test_an_item_whose_workers_keep_going_away_is_parked_as_poison(spec_: Store) -> None:
    bus = f"{AMQP}?delivery_limit=1"
    first = RabbitBackend(spec_.url, bus)
    await first.open()
    second: RabbitBackend | None = None
    try:
        m = Message(flow="orders", body={"kills": "its worker"})
        await first.enqueue([NewWork(m)])
        [item] = await first.lease("doomed-1", 10, 0.5)
        assert item.message.id == m.id
        # the worker dies holding it: its connection goes, unacked (the broker counts a delivery)
        for task in first._bus_tasks:
            task.cancel()
        assert first._conn is not None
        await first._conn.close()
        second = RabbitBackend(spec_.url, bus)
        await second.open()

        async def claimed() -> bool:
            assert second is not None
            return bool(await second.lease("doomed-2", 10, 0.5))

        await wait_for("the second worker to take the item over after the lease", claimed)
        for task in second._bus_tasks:  # it dies too: delivered more often than the limit
            if task.get_name() != "bus_poison_loop":
                task.cancel()
        assert second._conn is not None
        await second._conn.close()
        third = RabbitBackend(spec_.url, bus)
        await third.open()
        try:
            assert await third.lease("w", 10, 30) == []  # a worker's first lease starts its consumers

            async def parked() -> bool:
                return bool(await third.exceptions())

            await wait_for("the poison item to be parked", parked)
            [exc] = await third.exceptions()
            assert exc.message.id == m.id and exc.flow == "orders" and "poison" in exc.reason
            assert await third.pending() == 0
            assert await third.lease("w", 10, 30) == []
        finally:
            await third.close()
    finally:
        await first.close()
        if second is not None:
            await second.close()


def test_a_bus_url_is_checked_and_needs_a_postgresql_store(tmp_path: Path) -> None:
    assert parse_bus_url("amqp://u:p@h:5673/v?prefetch=8&queue=q", "s") == ("amqp://u:p@h:5673/v", "q", 8, 10, 30.0)
    assert parse_bus_url("amqp://h/", "acme")[1] == "interlace.acme"
    with pytest.raises(ValueError, match="expected amqp://"):
        parse_bus_url("http://h/", "s")
    with pytest.raises(ValueError, match="at least 1"):
        parse_bus_url("amqp://h/?prefetch=0", "s")
    with pytest.raises(ValueError, match="needs a PostgreSQL store"):
        open_backend(f"sqlite:///{tmp_path / 'hub.db'}", bus="amqp://127.0.0.1/")


async def test_a_message_of_several_ids_that_comes_back_is_split_and_its_items_taken_over(
    spec_: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "interlace.backends.rabbitmq")
    first = RabbitBackend(spec_.url, AMQP)
    await first.open()
    second = RabbitBackend(spec_.url, AMQP)
    try:
        messages = [Message(flow="f", body={"n": n}) for n in range(5)]
        await first.enqueue([NewWork(m) for m in messages])  # one AMQP message carries the five ids
        items = await first.lease("gone", 10, 0.5)
        assert sorted(i.message.id for i in items) == sorted(m.id for m in messages)
        for task in first._bus_tasks:  # the worker dies holding them
            task.cancel()
        assert first._conn is not None
        await first._conn.close()
        await second.open()
        taken: list[str] = []

        async def all_taken() -> bool:
            found = await second.lease("heir", 10, 30)
            assert await second.settle([Settle(i, delivered=1) for i in found]) == [True] * len(found)
            taken.extend(i.message.id for i in found)
            return len(taken) == 5

        await wait_for("the heir to take all five over after the lease", all_taken)
        assert sorted(taken) == sorted(m.id for m in messages), "each once"
        assert any("a message of 5 work item ids came back" in r.getMessage() for r in caplog.records)
        assert await second.pending() == 0
        await asyncio.sleep(0.2)
        assert await queue_depth(second, second.queue) == (0, 1), "the split message and its parts all acked"
    finally:
        await first.close()
        await second.close()
