"""The AMQP connector: one connection with a confirming channel for deliveries (opened on first
use and again after it is lost), and one connection per source."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from interlace.connectors.amqp.settings import AmqpDelivery, AmqpSettings, AmqpTrigger
from interlace.connectors.base import Connector, Options, Sink, Source
from interlace.connectors.broker.payload import has_fields
from interlace.connectors.broker.twin import TwinSink
from interlace.errors import ConnectorError
from interlace.observability.redaction import remember

if TYPE_CHECKING:  # the client library is imported on first use: a hub without RabbitMQ never loads it
    from aio_pika.abc import AbstractChannel, AbstractConnection

    from interlace.connectors.amqp.sink import AmqpSink


class AmqpConnector(Connector):
    name: ClassVar[str] = "amqp"
    settings_model: ClassVar[type[Options]] = AmqpSettings
    source_options: ClassVar[type[Options] | None] = AmqpTrigger
    sink_options: ClassVar[type[Options] | None] = AmqpDelivery
    settings: AmqpSettings

    def __init__(self, system: str, settings: Any) -> None:
        super().__init__(system, settings)
        self._connection: AbstractConnection | None = None
        self._channel: AbstractChannel | None = None
        self._opening = asyncio.Lock()
        password = urlsplit(settings.url).password
        if password:
            remember(password)

    async def connect(self) -> AbstractConnection:
        import aio_pika

        s = self.settings
        return await aio_pika.connect(s.url, timeout=s.timeout, heartbeat=s.heartbeat, client_properties={
            "connection_name": f"interlace:{self.system}"
        })  # fmt: skip

    async def channel(self) -> AbstractChannel:
        """The deliveries' channel, with publisher confirms and returns of unroutable messages."""
        if self._channel is None or self._channel.is_closed:
            async with self._opening:
                if self._channel is None or self._channel.is_closed:
                    if self._connection is None or self._connection.is_closed:
                        self._connection = await self.connect()
                    self._channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
        return self._channel

    def source(self, flow: str, options: AmqpTrigger) -> Source:
        from interlace.connectors.amqp.source import AmqpSource

        return AmqpSource(self, flow, options)

    def sink(self, options: AmqpDelivery) -> AmqpSink:
        from interlace.connectors.amqp.sink import AmqpSink

        return AmqpSink(self, options)

    def twin(self, options: AmqpDelivery) -> Sink:
        return TwinSink(self.sink(options))

    async def probe(self) -> None:
        try:
            await self.channel()
        except Exception as exc:
            raise ConnectorError(f"{self.system}: RabbitMQ at {_where(self.settings.url)}: {exc}") from exc

    async def probe_use(self, role: str, options: Any) -> None:
        """A passive declare of the queue a trigger reads (unless it is declared by the hub) or the
        exchange a delivery publishes to: it exists, and this user may see it in this vhost."""
        if role == "source":
            assert isinstance(options, AmqpTrigger)
            if options.declare:
                return
            kind, name = "queue", options.queue
        else:
            assert isinstance(options, AmqpDelivery)
            if options.exchange == "" or options.exchange_type is not None or has_fields(options.exchange):
                return
            kind, name = "exchange", options.exchange
        connection = self._connection or await self.connect()
        self._connection = connection
        channel = await connection.channel(publisher_confirms=False)
        try:
            if kind == "queue":
                await channel.declare_queue(name, passive=True)
            else:
                await channel.declare_exchange(name, passive=True)
        except Exception as exc:
            raise ConnectorError(f"{self.system}: {kind} {name!r}: {exc}") from exc
        finally:
            if not channel.is_closed:
                await channel.close()

    async def close(self) -> None:
        if self._connection is not None:
            connection, self._connection, self._channel = self._connection, None, None
            await connection.close()


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 5672}"
