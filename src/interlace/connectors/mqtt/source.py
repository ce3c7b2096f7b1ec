"""Subscribes on a persistent session and acknowledges each QoS 1 message (PUBACK) only after its
batch is committed to the store. While the flow is full nothing is acknowledged, so the broker
stops after `receive_maximum` (MQTT 5; its own inflight limit under 3.1.1) and keeps the rest in
the session. After a crash or a lost connection the broker sends the unacknowledged ones again
(with the DUP flag); an MQTT 5 `message_id` user property (which Interlace's own sink sets)
recognises them under `dedupe: auto`, or `dedupe: content` does for any publisher.

QoS 2 is not offered to sources: paho-mqtt answers PUBREC as a QoS 2 message arrives, before the
hub has it, so a crash right then would lose it. QoS 1 plus the hub's idempotency gives the same
once-only result without that gap."""

from __future__ import annotations

import asyncio
import select
from typing import Any

import aiomqtt
import paho.mqtt.client as paho_mqtt

from interlace.connectors.base import Ingress
from interlace.connectors.broker.source import BrokerSource, commit, make_incoming, take
from interlace.connectors.mqtt.link import MqttLink
from interlace.connectors.mqtt.settings import MqttTrigger


def refused(granted: Any) -> str | None:
    """Why a SUBACK refused the subscription, or None when it was granted."""
    for code in granted if isinstance(granted, list | tuple) else [granted]:
        value = getattr(code, "value", code)
        if isinstance(value, int) and value >= 0x80:
            return str(code) if not isinstance(code, int) else f"reason code {value:#x}"
    return None


def _properties(message: aiomqtt.Message) -> dict[str, str]:
    props = message.properties
    out: dict[str, str] = {}
    if props is None:
        return out
    for name, value in getattr(props, "UserProperty", []) or []:
        out[str(name)] = str(value)
    content_type = getattr(props, "ContentType", None)
    if content_type:
        out["content-type"] = str(content_type)
    return out


_CLOSED = (select.POLLERR | select.POLLHUP | getattr(select, "POLLRDHUP", 0)) if hasattr(select, "poll") else 0


def _closed(sock: Any) -> bool:
    """Whether the peer closed or reset the connection."""
    poller = select.poll()
    poller.register(sock, _CLOSED)
    return any(events & _CLOSED for _, events in poller.poll(0))


async def watch(paho: paho_mqtt.Client, every: float = 1.0) -> None:
    """Let paho read a connection the broker closed or reset, once a second. uvloop stops watching
    a socket that reports an error (it runs the reader once and closes its poll handle): when
    that one read found a packet before the reset, paho never hears of the lost connection, and
    the source would wait for the keepalive to find it (up to twice `keepalive`, a minute by
    default) while the broker, restarted, holds its messages."""
    if not hasattr(select, "poll"):  # not on Windows: nothing to watch with
        return
    while True:
        await asyncio.sleep(every)
        sock = paho.socket()
        if sock is None or not _closed(sock):
            continue
        for _ in range(10_000):  # the packets still buffered, then the end: paho closes it
            if paho.socket() is not sock or paho.loop_read() != paho_mqtt.MQTT_ERR_SUCCESS:
                break


class _Lost:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class MqttSource(BrokerSource):
    def __init__(self, connector: MqttLink, flow: str, options: MqttTrigger) -> None:
        super().__init__(connector.system, flow)
        self.connector = connector
        self.options = options

    @property
    def client_id(self) -> str:
        return self.options.client_id or f"interlace-{self.system}-{self.flow}"

    def is_transient(self, exc: BaseException) -> bool:
        return isinstance(exc, aiomqtt.MqttError | OSError | ConnectionError | TimeoutError)

    async def consume(self, ingress: Ingress) -> None:
        o = self.options
        client = self.connector.make_client(self.client_id, persistent=True, receive=o.receive_maximum)
        client._client.manual_ack_set(True)  # paho's own switch: PUBACK once committed, not on arrival
        paho = client._client
        async with client:
            topic = f"$share/{o.shared}/{o.topic}" if o.shared else o.topic
            problem = refused(await client.subscribe(topic, qos=o.qos))
            if problem:
                raise aiomqtt.MqttError(f"subscribing to {topic!r} refused: {problem}")
            self.connected.set()
            inbox: asyncio.Queue[aiomqtt.Message | _Lost] = asyncio.Queue()
            pump = asyncio.create_task(self._pump(client, inbox))
            watching = asyncio.create_task(watch(paho))
            try:
                while True:
                    batch = await take(inbox, o.batch)
                    lost = next((m for m in batch if isinstance(m, _Lost)), None)
                    messages = [m for m in batch if not isinstance(m, _Lost)]
                    if messages:
                        items = [
                            make_incoming(
                                m.payload if isinstance(m.payload, bytes) else str(m.payload).encode(),
                                o.format,
                                event=m.topic.value,
                                headers=(headers := _properties(m)),
                                broker_id=headers.get("message_id"),
                                dedupe=o.dedupe,
                                prefix=self.system,
                            )
                            for m in messages
                        ]
                        await commit(ingress, self.flow, items)
                        for m in messages:
                            if m.qos > 0:
                                paho.ack(m.mid, m.qos)
                        self.acked += len(messages)
                    if lost is not None:
                        raise aiomqtt.MqttError(f"connection lost: {lost.exc}")
            finally:
                pump.cancel()
                watching.cancel()

    async def _pump(self, client: aiomqtt.Client, inbox: asyncio.Queue[aiomqtt.Message | _Lost]) -> None:
        try:
            async for message in client.messages:
                inbox.put_nowait(message)
        except aiomqtt.MqttError as exc:
            inbox.put_nowait(_Lost(exc))
