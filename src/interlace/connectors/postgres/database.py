"""PostgreSQL through asyncpg: a connection pool, prepared statements, binary protocol."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from interlace.connectors.sql.database import Database, Row, Tx
from interlace.connectors.sql.schema import Column, Family, Table
from interlace.errors import ConnectorError

_FAMILIES: dict[str, Family] = {
    "smallint": "int", "integer": "int", "bigint": "int",
    "numeric": "decimal", "real": "float", "double precision": "float",
    "boolean": "bool", "date": "date", "time without time zone": "time",
    "timestamp without time zone": "datetime", "timestamp with time zone": "datetime_tz",
    "json": "json", "jsonb": "json", "text": "text", "character varying": "text", "character": "text",
    "bytea": "bytes", "uuid": "uuid",
}  # fmt: skip

_DDL_LOCK = 0x696E746C  # "intl": the advisory lock key of Interlace's own DDL
_RETRY_CLASSES = ("08", "40", "53", "57", "55P03")
"""SQLSTATE classes worth retrying: connection, rollback (deadlock, serialization), resources,
operator intervention (shutdown), lock not available."""

_COLUMNS = """
SELECT c.column_name, c.data_type, c.is_nullable = 'YES' AS nullable,
       (c.column_default IS NOT NULL OR c.is_identity = 'YES' OR c.is_generated = 'ALWAYS') AS has_default,
       format_type(a.atttypid, a.atttypmod) AS type
FROM information_schema.columns c
JOIN pg_attribute a ON a.attrelid = to_regclass($3) AND a.attname = c.column_name
WHERE c.table_schema = coalesce($1, current_schema()) AND c.table_name = $2
ORDER BY c.ordinal_position
"""
_PRIMARY_KEY = """
SELECT a.attname AS name FROM pg_index i
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
WHERE i.indrelid = to_regclass($1) AND i.indisprimary
ORDER BY array_position(i.indkey::int2[], a.attnum)
"""
_TABLES = """
SELECT table_name AS name FROM information_schema.tables
WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name NOT LIKE '\\_interlace\\_%'
ORDER BY table_name
"""


def _rowcount(status: str) -> int:
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


def _dicts(records: list[asyncpg.Record]) -> list[Row]:
    if not records:
        return []
    names = list(records[0].keys())
    return [dict(zip(names, r, strict=True)) for r in records]


class PgTx(Tx):
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return _rowcount(await self.conn.execute(sql, *params))

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await self.conn.executemany(sql, rows)

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return _dicts(await self.conn.fetch(sql, *params))


def _jsonb_out(text: str) -> bytes:
    return b"\x01" + text.encode()


def _jsonb_in(data: bytes) -> Any:
    return json.loads(data[1:])


async def _init(conn: asyncpg.Connection) -> None:
    # JSON columns bind the JSON text coerce.py produced and read back parsed values; binary
    # format (jsonb: a version byte, then the text) so that COPY can carry them too
    await conn.set_type_codec("json", encoder=str.encode, decoder=json.loads, schema="pg_catalog", format="binary")
    await conn.set_type_codec("jsonb", encoder=_jsonb_out, decoder=_jsonb_in, schema="pg_catalog", format="binary")


class PostgresDatabase(Database):
    def __init__(self, dsn: str, *, setup: str | None = None, pool: int = 5) -> None:
        self.dsn = dsn
        self.setup = setup
        self.pool_size = pool
        self._pool: asyncpg.Pool | None = None

    def ph(self, n: int) -> str:
        return f"${n}"

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise ConnectorError("postgres: not open")
        return self._pool

    async def connect(self) -> asyncpg.Connection:
        """A connection of its own, outside the pool (for LISTEN)."""
        return await asyncpg.connect(self.dsn)

    async def open(self) -> None:
        try:
            self._pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=self.pool_size, init=_init)
        except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise ConnectorError(f"postgres: {exc}") from exc
        if self.setup:
            try:
                async with self.pool.acquire() as conn:
                    await conn.execute(self.setup)
            except asyncpg.PostgresError as exc:
                await self.close()
                raise ConnectorError(f"postgres: the setup script failed: {exc}") from exc

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PgTx]:
        async with self.pool.acquire() as conn, conn.transaction():
            yield PgTx(conn)

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return _dicts(await self.pool.fetch(sql, *params))

    async def table(self, name: str) -> Table:
        schema, _, bare = name.rpartition(".")
        quoted = self.q(name)
        rows = await self.fetch(_COLUMNS, [schema or None, bare, quoted])
        if not rows:
            raise ConnectorError(f"postgres: no table {name!r}")
        columns = [
            Column(r["column_name"], r["type"], _FAMILIES.get(r["data_type"], "other"), r["nullable"],
                   r["has_default"])
            for r in rows
        ]  # fmt: skip
        pk = [r["name"] for r in await self.fetch(_PRIMARY_KEY, [quoted])]
        return Table(name, columns, pk)

    async def tables(self) -> list[Table]:
        return await self.described([r["name"] for r in await self.fetch(_TABLES)])

    async def lock_for_ddl(self, tx: Tx) -> None:
        assert isinstance(tx, PgTx)
        await tx.conn.execute("SELECT pg_advisory_xact_lock($1)", _DDL_LOCK)

    def is_database_error(self, exc: BaseException) -> bool:
        return isinstance(exc, asyncpg.PostgresError | asyncpg.InterfaceError | OSError)

    def is_retryable(self, exc: BaseException) -> bool:
        if isinstance(exc, asyncpg.InterfaceError | OSError):
            return True
        state = getattr(exc, "sqlstate", None) or ""
        return state.startswith(_RETRY_CLASSES)
