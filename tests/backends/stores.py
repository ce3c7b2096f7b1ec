"""Fresh stores of each backend for the tests: a SQLite file in the test's folder, or a schema of
its own (named with a uuid) in PostgreSQL's `test` database, dropped after the test; with
RabbitMQ as the bus, that schema and a queue of its own on the machine's RabbitMQ (deleted after)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from interlace.backends import open_backend
from interlace.backends.base import Backend

from support import require_service

BACKENDS = ["sqlite", "postgresql", "rabbitmq+postgresql"]

PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"
AMQP = "amqp://guest:guest@127.0.0.1:5672/"


def pg_url(schema: str, **query: object) -> str:
    extra = "".join(f"&{k}={v}" for k, v in query.items())
    return f"{PG_DSN}?schema={schema}{extra}"


async def drop_schema(schema: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_DSN)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


async def delete_queues(url: str, bus: str) -> None:
    """Delete the queues of the bus backend of (`url`, `bus`) from its broker."""
    import aiormq

    from interlace.backends.postgresql import parse_url
    from interlace.backends.rabbitmq import parse_bus_url

    amqp, queue, *_ = parse_bus_url(bus, parse_url(url)[1])
    conn = await aiormq.connect(amqp)
    try:
        channel = await conn.channel()
        for name in (queue, f"{queue}.poison"):
            await channel.queue_delete(name)
    finally:
        await conn.close()


@dataclass(frozen=True)
class Store:
    """Where a test's hub keeps its work: a store URL, and the bus URL if any."""

    url: str
    bus: str | None = None

    def open(self) -> Backend:
        return open_backend(self.url, bus=self.bus)

    def yaml(self) -> str:
        """The hub section's keys for it, e.g. `store: "sqlite:///..."`."""
        return f'store: "{self.url}"' + (f', bus: "{self.bus}"' if self.bus else "")


@contextlib.asynccontextmanager
async def store(kind: str, folder: Path) -> AsyncIterator[Store]:
    """An empty store of `kind` (skipped, or failed under CI=true, when its service is down)."""
    if kind == "sqlite":
        yield Store(f"sqlite:///{folder / 'hub.db'}")
        return
    if kind in ("postgresql", "rabbitmq+postgresql"):
        require_service("postgres")
        bus = None
        if kind == "rabbitmq+postgresql":
            require_service("rabbitmq")
            bus = AMQP
        schema = f"t_{uuid.uuid4().hex}"
        try:
            yield Store(pg_url(schema), bus)
        finally:
            if bus is not None:
                await delete_queues(pg_url(schema), bus)
            await drop_schema(schema)
        return
    raise ValueError(f"no such backend {kind!r}")
