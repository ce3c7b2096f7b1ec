"""Consumes a queue with manual acks: a batch is acknowledged (one `basic.ack` with `multiple`)
only after it is committed to the store. The broker hands out at most `prefetch` messages
unacknowledged, so while the flow is full the rest wait in the queue. A lost connection
requeues what was handed out and not acknowledged; the message id (or, for a message without
one, nothing unless `dedupe: content`) recognises a redelivery."""

from __future__ import annotations

import asyncio
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractIncomingMessage, AbstractQueue
from aiormq.exceptions import AMQPConnectionError, ChannelInvalidStateError, ConnectionClosed

from interlace.connectors.amqp.link import AmqpLink
from interlace.connectors.amqp.settings import AmqpTrigger
from interlace.connectors.base import Ingress
from interlace.connectors.broker.source import BrokerSource, commit, make_incoming, take


class _Lost:
    """Put in the inbox when the connection closes: the consume loop raises on it."""

    def __init__(self, exc: BaseException | None) -> None:
        self.exc = exc


def _header(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


class AmqpSource(BrokerSource):
    def __init__(self, connector: AmqpLink, flow: str, options: AmqpTrigger) -> None:
        super().__init__(connector.system, flow)
        self.connector = connector
        self.options = options
        self._connection: AbstractConnection | None = None

    def is_transient(self, exc: BaseException) -> bool:
        return isinstance(
            exc,
            AMQPConnectionError
            | ConnectionClosed
            | ChannelInvalidStateError
            | ConnectionError
            | OSError
            | TimeoutError,
        )

    async def disconnect(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            if not connection.is_closed:
                await connection.close()

    async def declare(self, channel: AbstractChannel) -> AbstractQueue:
        o = self.options
        if not o.declare:
            return await channel.declare_queue(o.queue, passive=True)
        arguments: dict[str, Any] = {"x-queue-type": o.queue_type, **o.arguments}
        if o.dead_letter is not None:
            dl = o.dead_letter
            dlx = await channel.declare_exchange(dl.exchange, aio_pika.ExchangeType.DIRECT, durable=True)
            key = dl.routing_key if dl.routing_key is not None else o.queue
            arguments["x-dead-letter-exchange"] = dl.exchange
            arguments["x-dead-letter-routing-key"] = key  # the original stays in the x-death header
            if dl.queue is not None:
                parked = await channel.declare_queue(dl.queue, durable=True, arguments={"x-queue-type": o.queue_type})
                await parked.bind(dlx, key)
        if o.delivery_limit is not None:
            arguments["x-delivery-limit"] = o.delivery_limit
        queue = await channel.declare_queue(o.queue, durable=o.durable, arguments=arguments)
        for binding in o.bind:
            if binding.type is not None:
                await channel.declare_exchange(binding.exchange, binding.type, durable=True)
            await queue.bind(binding.exchange, binding.routing_key)
        return queue

    async def consume(self, ingress: Ingress) -> None:
        o = self.options
        self._connection = connection = await self.connector.connect()
        inbox: asyncio.Queue[AbstractIncomingMessage | _Lost] = asyncio.Queue()
        connection.close_callbacks.add(lambda _sender, exc=None: inbox.put_nowait(_Lost(exc)))
        channel = await connection.channel(publisher_confirms=False)
        channel.close_callbacks.add(lambda _sender, exc=None: inbox.put_nowait(_Lost(exc)))
        await channel.set_qos(prefetch_count=o.prefetch or min(65_535, 2 * o.batch))
        queue = await self.declare(channel)
        await queue.consume(inbox.put, no_ack=False)
        self.connected.set()
        while True:
            batch = await take(inbox, o.batch)
            lost = next((m for m in batch if isinstance(m, _Lost)), None)
            messages = [m for m in batch if not isinstance(m, _Lost)]
            if lost is not None:  # what was handed out goes back to the queue with the channel
                raise ConnectionError(f"connection to RabbitMQ lost: {lost.exc or 'closed'}")
            items = [
                make_incoming(
                    m.body,
                    o.format,
                    event=m.routing_key,
                    headers={k: _header(v) for k, v in (m.headers or {}).items()},
                    broker_id=m.message_id,
                    dedupe=o.dedupe,
                    prefix=f"{self.system}:{o.queue}",
                )
                for m in messages
            ]
            await commit(ingress, self.flow, items)
            await messages[-1].ack(multiple=True)
            self.acked += len(messages)
