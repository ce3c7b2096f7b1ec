"""The nats connector against nats-server (JetStream) on 127.0.0.1:4222: a durable pull consumer
acked after commit (delivered again, kept once, after a crash; held while the flow is full),
PubAck-confirmed publishes deduplicated by Nats-Msg-Id, core subjects, the twin and the probes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import nats
import orjson
import pytest
from nats.aio.client import Client

from interlace.connectors.nats import NatsConnector, NatsDelivery, NatsSettings, NatsTrigger
from interlace.errors import ConnectorError, DeliveryError
from interlace.message import Message

from broker_support import TestIngress, need, stop, unique, until
from private_brokers import NatsServer

pytestmark = pytest.mark.service
URL = "nats://127.0.0.1:4222"


@pytest.fixture
async def nc() -> AsyncIterator[Client]:
    need("nats")
    client = await nats.connect(URL)
    made: list[str] = []
    client.made = made  # type: ignore[attr-defined]
    yield client
    js = client.jetstream()
    for stream in made:
        try:
            await js.delete_stream(stream)
        except Exception:
            pass
    await client.close()


def connector() -> NatsConnector:
    return NatsConnector("bus", NatsSettings(url=URL))


def names() -> tuple[str, str]:
    tag = unique("t").replace("-", "")
    return f"S{tag}", f"orders.{tag}"


async def test_jetstream_consumer_acks_after_commit(nc: Client) -> None:
    stream, subject = names()
    nc.made.append(stream)  # type: ignore[attr-defined]
    c = connector()
    source = c.source("f", NatsTrigger(subject=f"{subject}.>", stream=stream, batch=3))
    ingress = TestIngress()
    task = asyncio.create_task(source.run(ingress))
    await until(source.connected.is_set, what="consuming")
    js = nc.jetstream()
    for n in range(7):
        await js.publish(f"{subject}.new", orjson.dumps({"n": n}), headers={"origin": "shop"})
    await until(lambda: len(ingress.items) == 7, what="7 messages")
    assert ingress.bodies() == [{"n": n} for n in range(7)]
    assert ingress.items[0].event == f"{subject}.new" and ingress.items[0].headers["origin"] == "shop"
    assert ingress.items[0].idempotency_key == f"bus:{stream}:1"

    async def acked() -> bool:
        info = await js.consumer_info(stream, "interlace-f")
        return info.num_ack_pending == 0 and info.num_pending == 0

    await until(acked, what="all acknowledged")
    await stop(task)
    await c.close()


async def test_crash_between_commit_and_ack_is_kept_once(nc: Client) -> None:
    stream, subject = names()
    nc.made.append(stream)  # type: ignore[attr-defined]
    c = connector()
    options = NatsTrigger(subject=subject, stream=stream, batch=10, ack_wait="1s")
    js = nc.jetstream()
    await js.add_stream(name=stream, subjects=[subject])
    for n in range(5):
        await js.publish(subject, orjson.dumps({"n": n}))
    ingress = TestIngress()
    ingress.crash_after_commit = 1
    with pytest.raises(RuntimeError, match="died after its commit"):
        await c.source("f", options).run(ingress)
    assert len(ingress.items) == 5
    task = asyncio.create_task(c.source("f", options).run(ingress))
    await until(lambda: ingress.submits >= 2, what="delivered again after ack_wait")

    async def acked() -> bool:
        return (await js.consumer_info(stream, "interlace-f")).num_ack_pending == 0

    await until(acked, what="acknowledged")
    assert ingress.bodies() == [{"n": n} for n in range(5)], "delivered twice, kept once"
    await stop(task)
    await c.close()


async def test_full_flow_holds_the_batch_in_progress(nc: Client) -> None:
    stream, subject = names()
    nc.made.append(stream)  # type: ignore[attr-defined]
    c = connector()
    ingress = TestIngress()
    ingress.room.clear()
    js = nc.jetstream()
    await js.add_stream(name=stream, subjects=[subject])
    for n in range(10):
        await js.publish(subject, orjson.dumps({"n": n}))
    source = c.source("f", NatsTrigger(subject=subject, stream=stream, batch=4, ack_wait="1s"))
    task = asyncio.create_task(source.run(ingress))
    await until(lambda: ingress.waiting == 1, what="the source waiting on the full flow")
    # What is checked is that nothing happens for longer than ack_wait on the server's clock:
    # in_progress keeps the held batch from being handed out again.
    await asyncio.sleep(1.5)
    info = await js.consumer_info(stream, "interlace-f")
    assert (info.num_ack_pending, info.num_pending, info.num_redelivered) == (4, 6, 0)
    ingress.room.set()
    await until(lambda: len(ingress.items) == 10, what="all 10 once the flow has room")
    assert ingress.bodies() == [{"n": n} for n in range(10)]
    await stop(task)
    await c.close()


async def test_sink_waits_for_pubacks_and_dedupes(nc: Client) -> None:
    stream, subject = names()
    nc.made.append(stream)  # type: ignore[attr-defined]
    js = nc.jetstream()
    await js.add_stream(name=stream, subjects=[f"{subject}.*"])
    c = connector()
    sink = c.sink(NatsDelivery(subject=subject + ".{status}", stream=stream))
    batch = [(Message(flow="f", body={"status": "new", "n": n}), f"d{n}") for n in range(20)]
    first = await sink.deliver_many(batch)
    assert [r["seq"] for r in first] == list(range(1, 21))  # type: ignore[index]
    again = await sink.deliver_many(batch[:2])
    assert all(r.get("repeat") for r in again), again  # type: ignore[union-attr]
    assert (await js.stream_info(stream)).state.messages == 20
    refused = await sink.deliver_many([(Message(flow="f", body={"status": "a.*"}), "x")])
    assert isinstance(refused[0], DeliveryError) and "holds '*'" in str(refused[0])
    nowhere = c.sink(NatsDelivery(subject=unique("nostream")))
    lost = await nowhere.deliver_many([(Message(flow="f", body={}), "y")])
    assert isinstance(lost[0], DeliveryError), lost
    await c.close()


async def test_core_subject_round_trip_and_probes(nc: Client) -> None:
    _, subject = names()
    c = connector()
    ingress = TestIngress()
    source = c.source("f", NatsTrigger(subject=subject, queue="hub"))
    task = asyncio.create_task(source.run(ingress))
    await until(source.connected.is_set, what="subscribed")
    results = await c.sink(NatsDelivery(subject=subject, jetstream=False)).deliver_many(
        [(Message(flow="f", body={"n": n}), f"d{n}") for n in range(3)]
    )
    assert results == [{"subject": subject}] * 3
    await until(lambda: len(ingress.items) == 3, what="3 messages")
    assert ingress.items[0].idempotency_key == "bus:d0", "the Nats-Msg-Id header names it"
    await stop(task)
    await c.probe()
    with pytest.raises(ConnectorError, match="JetStream"):
        await c.probe_use("source", NatsTrigger(subject="x", stream=unique("missing"), create_stream=False))
    with pytest.raises(ConnectorError, match="JetStream"):
        await c.probe_use("sink", NatsDelivery(subject=unique("nostream")))
    await c.close()
    twin = NatsConnector("bus", NatsSettings(url="nats://127.0.0.1:1")).twin(NatsDelivery(subject="o.{id}"))
    assert twin is not None
    await twin.deliver(Message(flow="f", body={"id": 7}), "d")
    assert twin.published[0].destination == "o.7"  # type: ignore[attr-defined]
    down = NatsConnector("bus", NatsSettings(url="nats://127.0.0.1:1", timeout=1))
    with pytest.raises(ConnectorError, match="NATS at 127"):
        await down.probe()


async def test_jetstream_source_reconnects_after_a_server_restart(tmp_path: Path) -> None:
    server = NatsServer(tmp_path / "nats").start()  # the test's own: it is restarted
    url = f"nats://127.0.0.1:{server.port}"
    c = NatsConnector("bus", NatsSettings(url=url, timeout=2))
    ingress = TestIngress()
    source = c.source("f", NatsTrigger(subject="orders", stream="ORDERS", batch=5))
    task = asyncio.create_task(source.run(ingress))
    sink = c.sink(NatsDelivery(subject="orders"))
    try:
        await until(source.connected.is_set, what="consuming")
        await sink.deliver_many([(Message(flow="f", body={"n": n}), f"d{n}") for n in range(10)])
        await until(lambda: source.acked == 10, what="the first 10")
        await asyncio.to_thread(server.restart)  # a file stream and its durable consumer survive

        async def sent() -> bool:  # the sink reconnects too; a refused try is retried here
            results = await sink.deliver_many([(Message(flow="f", body={"n": n}), f"d{n}") for n in range(10, 20)])
            return not any(isinstance(r, Exception) for r in results)

        await until(sent, what="publishing again after the restart")
        await until(lambda: len(ingress.items) == 20, what="the 10 published after the restart")
        assert ingress.bodies() == [{"n": n} for n in range(20)]
    finally:
        await stop(task)
        await c.close()
        server.stop()
