"""Publishes to an exchange and returns once RabbitMQ confirmed it (publisher confirms): the
message is then in every queue it was routed to (on disk, for a durable queue and a persistent
message). `mandatory` makes a message no queue takes an error instead of a silent drop. The
delivery id goes as the message id, for a consumer to recognise a redelivery."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import aio_pika
from aio_pika.abc import AbstractExchange
from aiormq.exceptions import PublishError

from interlace.connectors.amqp.link import AmqpLink
from interlace.connectors.amqp.settings import AmqpDelivery
from interlace.connectors.broker.payload import encode, render
from interlace.connectors.broker.twin import BrokerSink, Outgoing
from interlace.errors import DeliveryError
from interlace.message import Message
from interlace.types import JSON

_CONTENT = {"json": "application/json", "text": "text/plain", "bytes": "application/octet-stream"}


class AmqpSink(BrokerSink):
    def __init__(self, connector: AmqpLink, options: AmqpDelivery) -> None:
        self.connector = connector
        self.options = options
        self._exchange: AbstractExchange | None = None
        self._on: object = None
        """The channel `_exchange` belongs to: a new channel (after a lost connection) needs it again."""

    def render(self, message: Message, delivery_id: str) -> Outgoing:
        o = self.options
        key = render(o.routing_key, message.body, what="routing key")
        headers = {k: render(v, message.body, what="header") for k, v in o.headers.items()}
        return Outgoing(key, encode(message.body, o.format), headers, delivery_id)

    async def _exchange_for(self) -> AbstractExchange:
        channel = await self.connector.channel()
        if self._exchange is None or self._on is not channel:
            o = self.options
            if o.exchange == "":
                self._exchange = channel.default_exchange
            elif o.exchange_type is not None:
                self._exchange = await channel.declare_exchange(o.exchange, o.exchange_type, durable=True)
            else:
                self._exchange = await channel.get_exchange(o.exchange, ensure=False)
            self._on = channel
        return self._exchange

    async def publish(self, batch: Sequence[Outgoing]) -> list[JSON | Exception]:
        o = self.options
        try:
            exchange = await self._exchange_for()
        except Exception as exc:
            error = DeliveryError(f"RabbitMQ: {type(exc).__name__}: {exc}")
            return [error for _ in batch]
        content_type = o.content_type or _CONTENT[o.format]
        mode = aio_pika.DeliveryMode.PERSISTENT if o.persistent else aio_pika.DeliveryMode.NOT_PERSISTENT

        async def one(out: Outgoing) -> JSON:
            message = aio_pika.Message(
                out.payload,
                headers=dict(out.headers),
                content_type=content_type,
                delivery_mode=mode,
                message_id=out.delivery_id,
                priority=o.priority,
                expiration=o.expiration,
            )
            try:
                await exchange.publish(
                    message, out.destination, mandatory=o.mandatory, timeout=self.connector.settings.timeout
                )
            except PublishError as exc:  # returned (no queue took it) or nacked by the broker
                raise DeliveryError(f"RabbitMQ did not take the message for {out.destination!r}: {exc}") from exc
            except Exception as exc:
                raise DeliveryError(f"RabbitMQ: {type(exc).__name__}: {exc}") from exc
            return {"exchange": o.exchange, "routing_key": out.destination}

        answers = await asyncio.gather(*(one(out) for out in batch), return_exceptions=True)
        return [
            a if not isinstance(a, BaseException) or isinstance(a, Exception) else DeliveryError(str(a))
            for a in answers
        ]
