"""The mqtt connector against Mosquitto on 127.0.0.1:1883: a persistent QoS 1 session acked after
commit (sent again after a crash, kept once by its message_id), held by the broker while the flow
is full, publishes confirmed at QoS 0/1/2 with retain and MQTT 5 properties, the twin, probes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiomqtt
import orjson
import pytest
from pydantic import ValidationError

from interlace.connectors.mqtt import MqttConnector, MqttDelivery, MqttSettings, MqttTrigger
from interlace.errors import ConnectorError, DeliveryError
from interlace.message import Message

from broker_support import TestIngress, need, stop, unique, until
from private_brokers import Mosquitto

pytestmark = pytest.mark.service


@pytest.fixture
async def raw() -> AsyncIterator[aiomqtt.Client]:
    need("mqtt")
    async with aiomqtt.Client("127.0.0.1", 1883, protocol=aiomqtt.ProtocolVersion.V5) as client:
        yield client


def connector(protocol: str = "5") -> MqttConnector:
    return MqttConnector("plant", MqttSettings(protocol=protocol))  # type: ignore[arg-type]


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
async def test_qos1_session_acked_after_commit(raw: aiomqtt.Client, protocol: str) -> None:
    topic = unique("sensors")
    c = connector(protocol)
    options = MqttTrigger(topic=f"{topic}/+", client_id=unique("hub"), batch=10)
    source = c.source("f", options)
    ingress = TestIngress()
    task = asyncio.create_task(source.run(ingress))
    await until(source.connected.is_set, what="subscribed")
    for n in range(5):
        await raw.publish(f"{topic}/t1", orjson.dumps({"n": n}), qos=1)
    await until(lambda: source.acked == 5, what="5 messages committed and acknowledged")
    assert ingress.bodies() == [{"n": n} for n in range(5)] and ingress.items[0].event == f"{topic}/t1"
    await stop(task)
    # acknowledged: a new connection on the same session gets nothing again
    again = TestIngress()
    task = asyncio.create_task(c.source("f", options).run(again))
    await raw.publish(f"{topic}/t1", b'{"n": 5}', qos=1)
    await until(lambda: again.items, what="the new message")
    await until(lambda: again.bodies() == [{"n": 5}], timeout=1, what=f"only the new message, not {again.bodies()}")
    await stop(task)
    await c.close()


async def test_crash_before_ack_is_sent_again_and_kept_once(raw: aiomqtt.Client) -> None:
    topic = unique("orders")
    c = connector()
    options = MqttTrigger(topic=topic, client_id=unique("hub"), batch=10)
    first = c.source("f", options)
    ingress = TestIngress()
    ingress.room.clear()
    task = asyncio.create_task(first.run(ingress))
    await until(first.connected.is_set, what="subscribed")
    publisher = c.sink(MqttDelivery(topic=topic, qos=1))  # sets the message_id user property
    await publisher.deliver_many([(Message(flow="f", body={"n": n}), f"d{n}") for n in range(3)])
    await until(lambda: ingress.waiting == 1, what="a batch held")
    ingress.crash_after_commit = 1
    ingress.room.set()
    with pytest.raises(RuntimeError, match="died after its commit"):
        await task
    committed = len(ingress.items)
    assert committed >= 1
    task = asyncio.create_task(c.source("f", options).run(ingress))  # same session: unacked ones come again
    await until(lambda: len(ingress.items) == 3 and ingress.submits >= 2, what="the rest, and the repeats")
    assert sorted(b["n"] for b in ingress.bodies()) == [0, 1, 2], "sent again, kept once"
    assert ingress.items[0].idempotency_key == "plant:d0"
    await stop(task)
    await c.close()


async def test_full_flow_leaves_messages_with_the_broker(raw: aiomqtt.Client) -> None:
    topic = unique("orders")
    c = connector()
    ingress = TestIngress()
    ingress.room.clear()
    source = c.source("f", MqttTrigger(topic=topic, client_id=unique("hub"), batch=2, receive_maximum=2))
    task = asyncio.create_task(source.run(ingress))
    await until(source.connected.is_set, what="subscribed")
    for n in range(8):
        await raw.publish(topic, orjson.dumps({"n": n}), qos=1)
    await until(lambda: ingress.waiting == 1, what="the source waiting on the full flow")
    assert ingress.items == []
    ingress.room.set()
    await until(lambda: len(ingress.items) == 8, what="all 8 once the flow has room")
    assert sorted(b["n"] for b in ingress.bodies()) == list(range(8))
    await stop(task)
    await c.close()


async def test_a_reset_the_event_loop_no_longer_watches_is_found_before_the_keepalive(tmp_path: Path) -> None:
    """uvloop stops watching a socket that reports an error once its reader ran: when that read
    found a packet before the reset, paho is never told. Here the loop stops watching before the
    broker restarts (SIGTERM: it resets its connections): the source finds the reset itself and
    connects again well before its keepalive (30 s) would find it."""
    broker = Mosquitto(tmp_path / "mqtt").start()
    c = MqttConnector("plant", MqttSettings(port=broker.port, keepalive=30))
    made: list[aiomqtt.Client] = []
    make = c.make_client

    def recorded(*args: Any, **kwargs: Any) -> aiomqtt.Client:
        made.append(make(*args, **kwargs))
        return made[-1]

    c.make_client = recorded  # type: ignore[method-assign]
    topic = unique("sensors")
    ingress = TestIngress()
    source = c.source("f", MqttTrigger(topic=f"{topic}/+", client_id=unique("hub"), batch=10))
    task = asyncio.create_task(source.run(ingress))
    try:
        await until(source.connected.is_set, what="subscribed")
        sock = made[0]._client.socket()
        assert sock is not None
        asyncio.get_running_loop().remove_reader(sock.fileno())
        await asyncio.to_thread(broker.restart)
        await until(lambda: len(made) == 2 and source.connected.is_set(), timeout=15, what="connected again")
        async with aiomqtt.Client("127.0.0.1", broker.port, protocol=aiomqtt.ProtocolVersion.V5) as publisher:
            await publisher.publish(f"{topic}/t1", b'{"n": 1}', qos=1)
        await until(lambda: ingress.bodies() == [{"n": 1}], what="a message on the new connection")
    finally:
        await stop(task)
        await c.close()
        broker.stop()


@pytest.mark.parametrize("qos", [0, 1, 2])
async def test_sink_confirms_each_qos_with_properties(raw: aiomqtt.Client, qos: int) -> None:
    topic = unique("out")
    await raw.subscribe(f"{topic}/#", qos=2)
    c = connector()
    sink = c.sink(
        MqttDelivery(topic=topic + "/{status}", qos=qos, retain=True, headers={"kind": "order"}, message_expiry="1h")  # type: ignore[arg-type]
    )
    results = await sink.deliver_many([(Message(flow="f", body={"status": "new", "n": n}), f"d{n}") for n in range(3)])
    assert results == [{"topic": f"{topic}/new", "qos": qos}] * 3
    got = []
    async for message in raw.messages:
        got.append(message)
        if len(got) == 3:
            break
    props = dict(got[0].properties.UserProperty)  # type: ignore[union-attr]
    assert props == {"kind": "order", "message_id": "d0"} and got[0].properties.ContentType == "application/json"  # type: ignore[union-attr]
    assert [orjson.loads(m.payload)["n"] for m in got] == [0, 1, 2]  # type: ignore[arg-type]
    await raw.publish(f"{topic}/new", b"", retain=True)  # clear the retained message
    refused = await sink.deliver_many([(Message(flow="f", body={"status": "a/#"}), "x")])
    assert isinstance(refused[0], DeliveryError) and "holds '#'" in str(refused[0])
    await c.close()


async def test_qos2_is_refused_for_sources_and_probes(raw: aiomqtt.Client) -> None:
    with pytest.raises(ValidationError):
        MqttTrigger(topic="t", qos=2)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="'#' must be a whole level, and the last"):
        MqttTrigger(topic="a/#/b")
    c = connector()
    await c.probe()
    await c.probe_use("source", MqttTrigger(topic="a/+/b"))  # SUBACK grants it
    await c.close()
    twin = c.twin(MqttDelivery(topic="o/{id}"))
    assert twin is not None
    await twin.deliver(Message(flow="f", body={"id": 7}), "d")
    assert twin.published[0].destination == "o/7"  # type: ignore[attr-defined]
    down = MqttConnector("plant", MqttSettings(port=1, timeout=1))
    with pytest.raises(ConnectorError, match=r"MQTT at 127\.0\.0\.1:1"):
        await down.probe()
