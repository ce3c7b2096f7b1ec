"""What an AMQP source or sink needs of its connector (the connector is one): its settings and
connections. A protocol, so that source.py and sink.py need not import connector.py, which imports them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from interlace.connectors.amqp.settings import AmqpSettings

if TYPE_CHECKING:
    from aio_pika.abc import AbstractChannel, AbstractConnection


class AmqpLink(Protocol):
    system: str
    settings: AmqpSettings

    async def connect(self) -> AbstractConnection: ...

    async def channel(self) -> AbstractChannel: ...
