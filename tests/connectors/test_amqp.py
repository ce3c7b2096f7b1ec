"""The amqp connector against RabbitMQ on 127.0.0.1:5672: a quorum queue consumed with manual
acks after commit (requeued and recognised after a crash, held at the broker while the flow is
full), dead-lettering, publisher confirms with mandatory routing, the twin and the probes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aio_pika
import orjson
import pytest
from aio_pika.abc import AbstractChannel

from interlace.connectors.amqp import AmqpConnector, AmqpDelivery, AmqpSettings, AmqpTrigger
from interlace.connectors.amqp.settings import Binding, DeadLetter
from interlace.errors import ConnectorError, DeliveryError
from interlace.message import Message

from broker_support import TestIngress, need, stop, unique, until
from private_brokers import RabbitNode

pytestmark = pytest.mark.service
URL = "amqp://guest:guest@127.0.0.1:5672/"


@pytest.fixture
async def channel() -> AsyncIterator[AbstractChannel]:
    need("rabbitmq")
    connection = await aio_pika.connect(URL)
    ch = await connection.channel()
    made: list[str] = []
    ch.made = made  # type: ignore[attr-defined]
    yield ch
    for name in made:
        try:
            await (await connection.channel()).queue_delete(name)
        except Exception:
            pass
    await connection.close()


def connector() -> AmqpConnector:
    return AmqpConnector("rabbit", AmqpSettings(url=URL))


async def publish(ch: AbstractChannel, queue: str, bodies: list[object], ids: bool = True) -> None:
    for n, body in enumerate(bodies):
        await ch.default_exchange.publish(
            aio_pika.Message(orjson.dumps(body), message_id=f"m{n}" if ids else None, headers={"origin": "shop"}),
            routing_key=queue,
        )


async def counts(ch: AbstractChannel, queue: str) -> tuple[int, int]:
    """(ready, unacknowledged) messages of `queue`, from a passive declare (ready only) and ..."""
    q = await ch.declare_queue(queue, passive=True)
    return q.declaration_result.message_count, q.declaration_result.consumer_count


async def test_quorum_queue_acked_after_commit(channel: AbstractChannel) -> None:
    queue = unique("orders")
    channel.made.append(queue)  # type: ignore[attr-defined]
    c = connector()
    source = c.source("f", AmqpTrigger(queue=queue, batch=4))
    ingress = TestIngress()
    task = asyncio.create_task(source.run(ingress))
    await until(source.connected.is_set, what="consuming")
    await publish(channel, queue, [{"n": n} for n in range(10)])
    await until(lambda: len(ingress.items) == 10, what="10 messages")
    assert ingress.bodies() == [{"n": n} for n in range(10)]
    assert ingress.items[0].headers["origin"] == "shop" and ingress.items[0].idempotency_key == f"rabbit:{queue}:m0"
    await stop(task)
    await c.close()
    q = await channel.declare_queue(queue, passive=True)
    assert q.declaration_result.message_count == 0, "every message acknowledged"
    args = (await channel.declare_queue(queue, durable=True, arguments={"x-queue-type": "quorum"})).arguments
    assert args is not None and args.get("x-queue-type") == "quorum"


async def test_crash_between_commit_and_ack_requeues_and_is_kept_once(channel: AbstractChannel) -> None:
    queue = unique("orders")
    channel.made.append(queue)  # type: ignore[attr-defined]
    c = connector()
    options = AmqpTrigger(queue=queue, batch=10)
    ingress = TestIngress()
    ingress.crash_after_commit = 1
    first = c.source("f", options)
    task = asyncio.create_task(first.run(ingress))
    await until(first.connected.is_set, what="consuming")
    await publish(channel, queue, [{"n": n} for n in range(5)])
    with pytest.raises(RuntimeError, match="died after its commit"):
        await task
    assert len(ingress.items) >= 1
    second = c.source("f", options)  # the hub restarts the source: the broker hands them out again
    task = asyncio.create_task(second.run(ingress))
    await until(lambda: len(ingress.items) == 5, what="all 5")
    await until(lambda: ingress.submits >= 2, what="a second commit")
    await stop(task)
    await c.close()
    assert ingress.bodies() == [{"n": n} for n in range(5)], "delivered again, kept once (message ids)"
    assert (await channel.declare_queue(queue, passive=True)).declaration_result.message_count == 0


async def test_full_flow_leaves_messages_at_the_broker(channel: AbstractChannel) -> None:
    queue = unique("orders")
    channel.made.append(queue)  # type: ignore[attr-defined]
    c = connector()
    ingress = TestIngress()
    ingress.room.clear()
    source = c.source("f", AmqpTrigger(queue=queue, batch=5, prefetch=5))
    task = asyncio.create_task(source.run(ingress))
    await until(source.connected.is_set, what="consuming")
    await publish(channel, queue, [{"n": n} for n in range(20)])
    await until(lambda: ingress.waiting == 1, what="the source waiting on the full flow")

    async def ready() -> bool:
        return (await channel.declare_queue(queue, passive=True)).declaration_result.message_count == 15

    await until(ready, what="15 left in the queue: only the prefetch (5) handed out")
    assert ingress.items == []
    ingress.room.set()
    await until(lambda: len(ingress.items) == 20, what="all 20 once the flow has room")
    await stop(task)
    await c.close()


async def test_dead_letter_and_bindings_are_declared(channel: AbstractChannel) -> None:
    queue, parked, exchange, dlx = unique("orders"), unique("dead"), unique("shop"), unique("dlx")
    channel.made.extend([queue, parked])  # type: ignore[attr-defined]
    c = connector()
    options = AmqpTrigger(
        queue=queue,
        bind=[Binding(exchange=exchange, routing_key="order.*", type="topic")],
        dead_letter=DeadLetter(exchange=dlx, queue=parked),
        delivery_limit=3,
    )
    source = c.source("f", options)
    ingress = TestIngress()
    ingress.room.clear()
    task = asyncio.create_task(source.run(ingress))
    await until(source.connected.is_set, what="declared")
    await stop(task)
    await c.close()
    ex = await channel.get_exchange(exchange)
    await ex.publish(aio_pika.Message(b'{"n": 1}'), routing_key="order.created")  # routed by the binding
    q = await channel.get_queue(queue)
    message = await until(lambda: q.get(fail=False), what="the routed message")
    await message.reject(requeue=False)  # given up on: the broker dead-letters it
    dead = await channel.get_queue(parked)
    got = await until(lambda: dead.get(fail=False), what="the dead letter")
    assert orjson.loads(got.body) == {"n": 1}
    await got.ack()
    await channel.exchange_delete(exchange)
    await channel.exchange_delete(dlx)


async def test_sink_confirms_and_refuses_unroutable(channel: AbstractChannel) -> None:
    queue = unique("erp")
    channel.made.append(queue)  # type: ignore[attr-defined]
    await channel.declare_queue(queue, durable=True, arguments={"x-queue-type": "quorum"})
    c = connector()
    sink = c.sink(AmqpDelivery(routing_key="{target}", headers={"kind": "order"}))
    batch = [(Message(flow="f", body={"target": queue, "n": n}), f"d{n}") for n in range(50)]
    results = await sink.deliver_many(batch)
    assert all(r == {"exchange": "", "routing_key": queue} for r in results)
    q = await channel.get_queue(queue)
    first = await q.get()
    assert first.message_id == "d0" and first.headers["kind"] == "order" and first.delivery_mode == 2
    assert first.content_type == "application/json" and orjson.loads(first.body)["n"] == 0
    await first.ack()
    lost = await sink.deliver_many([(Message(flow="f", body={"target": unique("nobody")}), "x")])
    assert isinstance(lost[0], DeliveryError) and "did not take" in str(lost[0])
    assert isinstance((await sink.deliver_many([(Message(flow="f", body={}), "y")]))[0], DeliveryError)
    await c.close()


async def test_twin_and_probes(channel: AbstractChannel) -> None:
    twin = AmqpConnector("rabbit", AmqpSettings(url="amqp://guest:guest@127.0.0.1:1/")).twin(
        AmqpDelivery(exchange="erp", routing_key="order.{status}")
    )
    assert twin is not None
    await twin.deliver(Message(flow="f", body={"status": "new"}), "d1")
    assert twin.published[0].destination == "order.new"  # type: ignore[attr-defined]
    c = connector()
    await c.probe()
    with pytest.raises(ConnectorError, match="queue"):
        await c.probe_use("source", AmqpTrigger(queue=unique("missing"), declare=False))
    with pytest.raises(ConnectorError, match="exchange"):
        await c.probe_use("sink", AmqpDelivery(exchange=unique("missing"), routing_key="k"))
    await c.probe_use("sink", AmqpDelivery(exchange="amq.topic", routing_key="k"))
    await c.close()
    down = AmqpConnector("rabbit", AmqpSettings(url="amqp://guest:guest@127.0.0.1:1/", timeout=1))
    with pytest.raises(ConnectorError, match=r"RabbitMQ at 127\.0\.0\.1:1"):
        await down.probe()


@pytest.mark.long
async def test_source_and_sink_through_a_node_restart(tmp_path: Path) -> None:
    node = RabbitNode(tmp_path / "rabbit").start()  # the test's own node: it is restarted
    url = f"amqp://guest:guest@127.0.0.1:{node.port}/"
    c = AmqpConnector("rabbit", AmqpSettings(url=url, timeout=5))
    ingress = TestIngress()
    source = c.source("f", AmqpTrigger(queue="orders", batch=10))
    task = asyncio.create_task(source.run(ingress))
    sink = c.sink(AmqpDelivery(routing_key="orders"))

    async def send(first: int, last: int) -> bool:
        results = await sink.deliver_many([(Message(flow="f", body={"n": n}), f"d{n}") for n in range(first, last)])
        return not any(isinstance(r, Exception) for r in results)

    try:
        await until(source.connected.is_set, timeout=120, what="consuming")
        assert await send(0, 50)
        await until(lambda: source.acked == 50, what="the first 50")
        await asyncio.to_thread(node.restart)  # the quorum queue survives
        await until(lambda: send(50, 100), timeout=120, what="publishing again after the restart")
        await until(lambda: len(ingress.items) == 100, timeout=120, what="all 100")
        assert sorted(b["n"] for b in ingress.bodies()) == list(range(100))
    finally:
        await stop(task)
        await c.close()
        node.stop()
