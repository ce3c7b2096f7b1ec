"""SQLite through the standard `sqlite3` module, on one thread of its own per database.

SQLite has one writer at a time, so one connection serialised by a lock loses nothing and keeps
transactions simple; WAL mode lets other processes read meanwhile.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

from interlace.connectors.sql.database import Database, Row, Tx
from interlace.connectors.sql.schema import Column, Family, Table
from interlace.errors import ConnectorError

T = TypeVar("T")

_FAMILIES: list[tuple[tuple[str, ...], Family]] = [
    (("BOOL",), "bool"),
    (("DATETIME", "TIMESTAMP"), "datetime"),
    (("DATE",), "date"),
    (("TIME",), "time"),
    (("INT",), "int"),
    (("DECIMAL", "NUMERIC", "MONEY"), "decimal"),
    (("REAL", "FLOA", "DOUB"), "float"),
    (("JSON",), "json"),
    (("UUID",), "uuid"),
    (("CHAR", "CLOB", "TEXT"), "text"),
    (("BLOB",), "bytes"),
]


def family(declared: str) -> Family:
    """The coercion family of a declared column type, after SQLite's own affinity rules."""
    upper = declared.upper()
    for needles, fam in _FAMILIES:
        if any(n in upper for n in needles):
            return fam
    return "other"


class SqliteTx(Tx):
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return await self._db.call(lambda c: c.execute(sql, params).rowcount)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await self._db.call(lambda c: c.executemany(sql, rows))

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return await self._db.call(lambda c: [dict(r) for r in c.execute(sql, params).fetchall()])


class SqliteDatabase(Database):
    def __init__(self, path: str, *, setup: str | None = None, busy_timeout: float = 5.0) -> None:
        self.path = path
        self.setup = setup
        self.busy_timeout = busy_timeout
        self._conn: sqlite3.Connection | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="interlace-sqlite")
        self._lock = asyncio.Lock()

    def ph(self, n: int) -> str:
        return "?"

    async def call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._conn
        if conn is None:
            raise ConnectorError(f"sqlite {self.path}: not open")
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, conn)

    async def open(self) -> None:
        def connect() -> sqlite3.Connection:
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            if self.setup:
                try:
                    conn.executescript(self.setup)
                except sqlite3.Error as exc:
                    conn.close()
                    raise ConnectorError(f"sqlite {self.path}: the setup script failed: {exc}") from exc
            return conn

        try:
            self._conn = await asyncio.get_running_loop().run_in_executor(self._thread, connect)
        except sqlite3.Error as exc:
            raise ConnectorError(f"sqlite {self.path}: {exc}") from exc

    async def close(self) -> None:
        if self._conn is not None:
            await self.call(lambda c: c.close())
            self._conn = None
        self._thread.shutdown(wait=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        async with self._lock:
            await self.call(lambda c: c.execute("BEGIN IMMEDIATE"))
            try:
                yield SqliteTx(self)
            except BaseException:
                await self.call(lambda c: c.execute("ROLLBACK"))
                raise
            await self.call(lambda c: c.execute("COMMIT"))

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        async with self._lock:
            return await SqliteTx(self).fetch(sql, params)

    async def table(self, name: str) -> Table:
        schema, _, bare = name.rpartition(".")
        rows = await self.fetch(
            'SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info(?, ?) ORDER BY cid',
            [bare, schema or "main"],
        )
        if not rows:
            raise ConnectorError(f"sqlite {self.path}: no table {name!r}")
        columns = [
            Column(
                r["name"],
                r["type"] or "",
                family(r["type"] or ""),
                nullable=not r["notnull"] and not r["pk"],
                # an INTEGER PRIMARY KEY is the rowid: SQLite fills it in
                has_default=r["dflt_value"] is not None or (bool(r["pk"]) and "INT" in (r["type"] or "").upper()),
            )
            for r in rows
        ]
        pk = [r["name"] for r in sorted(rows, key=lambda r: int(r["pk"])) if r["pk"]]
        return Table(name, columns, pk)

    async def tables(self) -> list[Table]:
        rows = await self.fetch(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
            "AND name NOT LIKE '\\_interlace\\_%' ESCAPE '\\' ORDER BY name"
        )
        return [await self.table(r["name"]) for r in rows]

    def is_database_error(self, exc: BaseException) -> bool:
        return isinstance(exc, sqlite3.Error)

    def is_retryable(self, exc: BaseException) -> bool:
        text = str(exc).lower()
        return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)

    def adapt(self, value: Any) -> Any:
        if isinstance(value, Decimal | UUID):
            return str(value)
        if isinstance(value, datetime):
            return value.isoformat(sep=" ")
        if isinstance(value, date | time):
            return value.isoformat()
        return value
