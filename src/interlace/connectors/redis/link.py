"""What a Redis source or sink needs of its connector (the connector is one): its settings and
clients. A protocol, so that source.py and sink.py need not import connector.py, which imports them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from interlace.connectors.redis.settings import RedisSettings

if TYPE_CHECKING:
    import redis.asyncio as aioredis


class RedisLink(Protocol):
    system: str
    settings: RedisSettings

    def open_client(self, *, block: float = 0.0) -> aioredis.Redis: ...

    def client(self) -> aioredis.Redis: ...
