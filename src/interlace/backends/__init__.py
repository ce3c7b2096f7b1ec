"""Backends: where messages, work, traces and exceptions are kept. Chosen by URL."""

from __future__ import annotations

from pathlib import Path

from interlace.backends.base import Backend


def open_backend(
    url: str, *, base_dir: Path | None = None, durable: str = "full", bus: str | None = None
) -> Backend:
    """The backend for a store URL: `sqlite:///relative/path.db`, `sqlite:////absolute/path.db`, or
    `postgresql://[user@]host[:port]/database?schema=NAME` (see backends/postgresql.py); with a
    `bus` URL, `amqp://[user:password@]host[:port][/vhost]`, RabbitMQ carries the work items of
    the PostgreSQL store (see backends/rabbitmq.py)."""
    if bus is not None:
        if not url.startswith(("postgresql://", "postgres://")):
            raise ValueError(f"bus {bus!r} needs a PostgreSQL store (store: postgresql://...), not {url!r}")
        from interlace.backends.rabbitmq import RabbitBackend

        return RabbitBackend(url, bus, durable=durable)
    if url.startswith("sqlite:///"):
        from interlace.backends.sqlite import SqliteBackend

        path = Path(url.removeprefix("sqlite:///"))
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        return SqliteBackend(path, durable=durable)
    if url.startswith(("postgresql://", "postgres://")):
        from interlace.backends.postgresql import PostgresBackend

        return PostgresBackend(url, durable=durable)
    raise ValueError(f"unsupported store URL {url!r}; supported: sqlite:///PATH, postgresql://HOST/DATABASE")
