"""What a NATS source or sink needs of its connector (the connector is one): its settings and
connections. A protocol, so that source.py and sink.py need not import connector.py, which imports them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from interlace.connectors.nats.settings import NatsSettings

if TYPE_CHECKING:
    from nats.aio.client import Client as NatsClient


class NatsLink(Protocol):
    system: str
    settings: NatsSettings

    async def connect(self) -> NatsClient: ...

    async def client(self) -> NatsClient: ...
