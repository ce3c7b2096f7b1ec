"""Publishes at the delivery's QoS and returns once the broker confirmed it: PUBACK at QoS 1,
PUBCOMP at QoS 2 (the broker has it exactly once), the write at QoS 0. Under MQTT 5 the delivery
id goes as the `message_id` user property, for a consumer (an Interlace source) to recognise a
redelivery."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from interlace.connectors.broker.payload import encode, render
from interlace.connectors.broker.twin import BrokerSink, Outgoing
from interlace.connectors.mqtt.link import MqttLink
from interlace.connectors.mqtt.settings import MqttDelivery
from interlace.errors import ConnectorError, DeliveryError
from interlace.message import Message
from interlace.types import JSON

FORBIDDEN = "+#\0"
_CONTENT = {"json": "application/json", "text": "text/plain", "bytes": "application/octet-stream"}


class MqttSink(BrokerSink):
    def __init__(self, connector: MqttLink, options: MqttDelivery) -> None:
        self.connector = connector
        self.options = options

    def render(self, message: Message, delivery_id: str) -> Outgoing:
        o = self.options
        topic = render(o.topic, message.body, forbidden=FORBIDDEN, what="topic")
        headers = {k: render(v, message.body, what="user property") for k, v in o.headers.items()}
        if o.response_topic is not None:
            headers["response-topic"] = render(o.response_topic, message.body, forbidden=FORBIDDEN, what="topic")
        return Outgoing(topic, encode(message.body, o.format), headers, delivery_id)

    def _properties(self, out: Outgoing) -> Properties | None:
        if not self.connector.v5:
            return None
        o = self.options
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        headers = dict(out.headers)
        response = headers.pop("response-topic", None)
        props.UserProperty = [*headers.items(), ("message_id", out.delivery_id)]
        props.ContentType = o.content_type or _CONTENT[o.format]
        if o.message_expiry is not None:
            props.MessageExpiryInterval = max(1, round(o.message_expiry))
        if response is not None:
            props.ResponseTopic = response
        return props

    async def publish(self, batch: Sequence[Outgoing]) -> list[JSON | Exception]:
        o = self.options
        try:
            client = await self.connector.client()
        except ConnectorError as exc:
            return [DeliveryError(str(exc)) for _ in batch]

        async def one(out: Outgoing) -> JSON:
            try:
                await client.publish(
                    out.destination, out.payload, qos=o.qos, retain=o.retain, properties=self._properties(out)
                )
            except aiomqtt.MqttError as exc:
                await self.connector.drop(client)
                raise DeliveryError(f"MQTT {out.destination!r}: {exc}") from exc
            return {"topic": out.destination, "qos": o.qos}

        answers = await asyncio.gather(*(one(out) for out in batch), return_exceptions=True)
        return [
            a if isinstance(a, Exception) or not isinstance(a, BaseException) else DeliveryError(str(a))
            for a in answers
        ]
