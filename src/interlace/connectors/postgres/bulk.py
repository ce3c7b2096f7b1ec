"""Bulk sync of a PostgreSQL table: one message per chunk of rows, not one per row.

The source (`trigger: {..., bulk: true, chunk: 50000}`) reads only cursor values: each poll
finds the next range of the cursor column, `(low, high]`, holding about `chunk` rows (ties on
`high` all go in the same chunk), and submits ONE message describing it, stored durably with
the new cursor in the same hub transaction, as the polling source does for rows. Its body:

    {"interlace_chunk": 1, "kind": "rows", "system": "legacy", "source": "<dsn, no password>",
     "table": "orders", "cursor": "id", "low": 0, "high": 50000, "rows": 50000}

(event `chunk`; `low` is null for the first chunk; cursor values as the hub stores cursors). The
chunk format and the registry of the systems chunks come from are connectors/bulk.py's, shared
with the CSV bulk load of the `files` connector.

The `postgres` sink recognises such a message by its event `chunk` AND the marker key
`interlace_chunk` AND its `source` being the system the body names, a `postgres` system of the
same running config. It then streams the range with `COPY (SELECT ...) TO STDOUT (FORMAT binary)`
from the source into `COPY ... FROM STDIN` of the sink, inside the sink's transaction: straight
into the target table in `insert` mode, else into a temporary staging table followed by one
`INSERT ... SELECT ... ON CONFLICT` (upsert, mirror) or `UPDATE ... FROM` (update). The
delivery id is recorded in `_interlace_delivered` in the same transaction, so a redelivered
chunk is a no-op (effectively-once per chunk). No row passes through Python.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from interlace.connectors import bulk as shared_bulk
from interlace.connectors.base import Incoming
from interlace.connectors.postgres.database import PostgresDatabase
from interlace.connectors.sql.database import Database
from interlace.connectors.sql.identifiers import BadIdentifier, check_name, check_table
from interlace.connectors.sql.source import PollingSource
from interlace.connectors.sql.values import decode_cursor, encode_cursor
from interlace.errors import DeliveryError
from interlace.message import Message
from interlace.types import JSON, JSONObject

if TYPE_CHECKING:
    from interlace.connectors.postgres.options import PostgresSourceOptions

def fingerprint(dsn: str) -> str:
    """The DSN without its password: tells two systems of the same name apart (other tests, a
    reloaded config) without writing a secret into a message."""
    try:
        parts = urlsplit(dsn)
    except ValueError:
        return dsn
    host = parts.netloc.rpartition("@")
    user = host[0].partition(":")[0]
    netloc = f"{user}@{host[2]}" if host[1] else host[2]
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


@dataclass(frozen=True)
class Chunk:
    """One chunk message's body, checked."""

    system: str
    source: str
    """The source system's DSN fingerprint."""
    table: str
    cursor: str
    low: Any
    high: Any
    rows: int

    def body(self) -> JSONObject:
        return {
            **shared_bulk.envelope("rows", self.system), "source": self.source, "table": self.table,
            "cursor": self.cursor, "low": encode_cursor(self.low), "high": encode_cursor(self.high),
            "rows": self.rows,
        }  # fmt: skip


def parse_chunk(message: Message) -> Chunk:
    """The chunk a message describes; a non-retryable DeliveryError if it is not a valid one."""
    body = message.body
    assert isinstance(body, dict)
    try:
        system, source = shared_bulk.chunk_system(message, "rows"), body["source"]
        if not isinstance(source, str):
            raise ValueError("`source` must be text")
        table, cursor = check_table(str(body["table"])), check_name(str(body["cursor"]))
        rows = body["rows"]
        return Chunk(system, source, table, cursor, decode_cursor(body["low"]), decode_cursor(body["high"]),
                     int(rows) if isinstance(rows, int | float | str) else 0)  # fmt: skip
    except (KeyError, ValueError, TypeError, BadIdentifier) as exc:
        raise DeliveryError(f"not a valid chunk message: {exc}", retryable=False) from None


class BulkSource(PollingSource):
    """`trigger: {system: legacy, table: orders, cursor: id, bulk: true, chunk: 50000}`."""

    def __init__(
        self,
        database: Callable[[], Awaitable[Database]],
        system: str,
        flow: str,
        options: PostgresSourceOptions,
        fingerprint: str,
    ) -> None:
        super().__init__(database, system, flow, options)
        self.options: PostgresSourceOptions = options
        self.fingerprint = fingerprint
        self._rows = 0

    def full(self, count: int) -> bool:
        return self._rows >= self.options.chunk

    async def read(self, db: Database, position: Any) -> tuple[list[Incoming], Any]:
        opts = self.options
        assert opts.table is not None and opts.cursor is not None  # the options model requires them
        cursor = db.q(opts.cursor)
        if isinstance(position, list):  # stored by a row-by-row poll of this flow: (cursor, keys...)
            position = position[0]
        where, params = "", []
        if position is not None:
            where, params = f"WHERE {cursor} > $1", [position]
        (row,) = await db.fetch(
            f"SELECT max(c) AS high, count(*) AS n FROM (SELECT {cursor} AS c FROM {db.q(opts.table)} {where} "
            f"ORDER BY {cursor} LIMIT {int(opts.chunk)}) AS _interlace_chunk",
            params,
        )
        self._rows = int(row["n"])
        if not self._rows:
            return [], position
        chunk = Chunk(self.system, self.fingerprint, opts.table, opts.cursor, position, row["high"], int(row["n"]))
        span = f"{json.dumps(encode_cursor(position))}..{json.dumps(encode_cursor(row['high']))}"
        item = Incoming(
            body=chunk.body(),
            event=shared_bulk.EVENT,
            key=span,
            idempotency_key=f"{self.system}:{opts.table}:chunk:{span}",
        )
        return [item], row["high"]


_gates: weakref.WeakKeyDictionary[PostgresDatabase, asyncio.Semaphore] = weakref.WeakKeyDictionary()


@contextlib.asynccontextmanager
async def copying(*databases: PostgresDatabase) -> AsyncIterator[None]:
    """A turn to copy one chunk between `databases` (its source and its target).

    A chunk holds a connection of each while it waits for the other; at most half of each
    pool's connections copy chunks at once, whatever the number of flows and sinks, so that
    chunks never hold every connection of a pool while waiting for one more (deadlock). Gates
    are taken in one global order for the same reason."""
    async with contextlib.AsyncExitStack() as stack:
        for db in sorted(set(databases), key=id):
            gate = _gates.get(db)
            if gate is None:
                gate = _gates[db] = asyncio.Semaphore(max(1, db.pool_size // 2))
            await stack.enter_async_context(gate)
        yield


@contextlib.asynccontextmanager
async def reader(source: PostgresDatabase, target: PostgresDatabase) -> AsyncIterator[Any]:
    """A connection to read a chunk from: the source's pool, or a connection of its own when
    the source is the target with a pool too small to lend a second connection."""
    if source is target and source.pool_size < 2:
        conn = await source.connect()
        try:
            yield conn
        finally:
            await conn.close()
    else:
        async with source.pool.acquire() as conn:
            yield conn


class Pipe:
    """Bytes from one COPY TO STDOUT to one COPY FROM STDIN, at most `depth` chunks in between."""

    def __init__(self, depth: int = 64) -> None:
        self._queue: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue(maxsize=depth)

    async def put(self, data: bytes) -> None:
        await self._queue.put(data if type(data) is bytes else bytes(data))

    async def close(self, error: BaseException | None = None) -> None:
        await self._queue.put(error)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            item = await self._queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item


def describe(chunk: Chunk) -> JSON:
    return {"system": chunk.system, "table": chunk.table, "low": encode_cursor(chunk.low),
            "high": encode_cursor(chunk.high)}  # fmt: skip
