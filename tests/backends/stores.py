"""Fresh stores of each backend for the tests: a SQLite file in the test's folder, or a schema of
its own (named with a uuid) in PostgreSQL's `test` database, dropped after the test."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from support import require_service

BACKENDS = ["sqlite", "postgresql"]

PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"


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


@contextlib.asynccontextmanager
async def store(kind: str, folder: Path) -> AsyncIterator[str]:
    """The URL of an empty store of `kind` (skipped, or failed under CI=true, when its service is down)."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'hub.db'}"
        return
    if kind == "postgresql":
        require_service("postgres")
        schema = f"t_{uuid.uuid4().hex}"
        try:
            yield pg_url(schema)
        finally:
            await drop_schema(schema)
        return
    raise ValueError(f"no such backend {kind!r}")
