"""SQLite through the standard `sqlite3` module, on one thread of its own per database.

SQLite has one writer at a time, so one connection serialised by a lock loses nothing and keeps
transactions simple; WAL mode lets other processes read meanwhile.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Sequence
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
    """Statements of one transaction, sent to the database thread as few times as they can be:
    statements whose answer nobody waits for (BEGIN, SAVEPOINT, RELEASE, executemany) wait in
    `_pending` and go with the next one that answers (execute, fetch, the end of a savepoint, COMMIT),
    in one trip. An error of a waiting statement is raised at that point, still inside the
    savepoint that holds it, whose scope it undoes."""

    def __init__(self, db: SqliteDatabase, *, begin: str | None = None) -> None:
        self._db = db
        self._pending: list[tuple[str, Any, bool]] = [] if begin is None else [(begin, (), False)]
        self._open: set[str] = set()
        self.began = begin is None
        """Whether BEGIN reached the database (nothing to roll back before it did)."""

    def _run_pending(self, c: sqlite3.Connection) -> None:
        pending, self._pending = self._pending, []
        for sql, params, many in pending:
            if many:
                c.executemany(sql, params)
                continue
            c.execute(sql, params)
            if sql.startswith("BEGIN"):
                self.began = True
            elif sql.startswith("SAVEPOINT "):
                self._open.add(sql[10:])
            elif sql.startswith("RELEASE SAVEPOINT "):
                self._open.discard(sql[18:])

    async def _send(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if not self._pending:
            return await self._db.call(fn)

        def both(c: sqlite3.Connection) -> T:
            self._run_pending(c)
            return fn(c)

        return await self._db.call(both)

    async def flush(self) -> None:
        if self._pending:
            await self._db.call(self._run_pending)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return await self._send(lambda c: c.execute(sql, params).rowcount)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._pending.append((sql, rows, True))

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return await self._send(lambda c: [dict(r) for r in c.execute(sql, params).fetchall()])

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        name = f"interlace_sp{next(self._savepoints)}"
        mark = len(self._pending)
        self._pending.append((f"SAVEPOINT {name}", (), False))
        try:
            yield
            self._pending.append((f"RELEASE SAVEPOINT {name}", (), False))
            await self.flush()
        except BaseException:
            if name in self._open:  # the scope reached the database: undo it there
                self._pending = []
                self._open.discard(name)
                await self._db.call(
                    lambda c: (c.execute(f"ROLLBACK TO SAVEPOINT {name}"), c.execute(f"RELEASE SAVEPOINT {name}"))
                )
            else:  # nothing of the scope was sent: forget it
                del self._pending[mark:]
            raise

    async def commit(self) -> None:
        if not self.began and all(not many and sql.startswith("BEGIN") for sql, _, many in self._pending):
            self._pending = []  # nothing was written: no trip at all
            return
        await self._send(lambda c: c.execute("COMMIT"))

    async def rollback(self) -> None:
        self._pending = []
        if self.began:
            await self._db.call(lambda c: c.execute("ROLLBACK"))


class _Thread:
    """One thread that runs calls in order, each answered on the caller's event loop (lighter
    than a one-thread executor: no concurrent future to chain, no pool to adjust per call)."""

    def __init__(self, name: str) -> None:
        self._calls: queue.SimpleQueue[tuple[Callable[[], Any], asyncio.Future[Any]] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._name = name

    def _run(self) -> None:
        while True:
            call = self._calls.get()
            if call is None:
                return
            fn, fut = call
            try:
                value = fn()
            except BaseException as exc:
                fut.get_loop().call_soon_threadsafe(_fail, fut, exc)
            else:
                fut.get_loop().call_soon_threadsafe(_succeed, fut, value)

    async def call(self, fn: Callable[[], T]) -> T:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()
        fut: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._calls.put((fn, fut))
        return await fut

    def stop(self) -> None:
        if self._thread is not None:
            self._calls.put(None)
            self._thread = None


def _succeed(fut: asyncio.Future[Any], value: Any) -> None:
    if not fut.done():
        fut.set_result(value)


def _fail(fut: asyncio.Future[Any], exc: BaseException) -> None:
    if not fut.done():
        fut.set_exception(exc)


class SqliteDatabase(Database):
    def __init__(self, path: str, *, setup: str | None = None, busy_timeout: float = 5.0) -> None:
        self.path = path
        self.setup = setup
        self.busy_timeout = busy_timeout
        self._conn: sqlite3.Connection | None = None
        self._thread = _Thread(f"interlace-sqlite:{path}")
        self._lock = asyncio.Lock()

    def ph(self, n: int) -> str:
        return "?"

    async def call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._conn
        if conn is None:
            raise ConnectorError(f"sqlite {self.path}: not open")
        return await self._thread.call(lambda: fn(conn))

    async def open(self) -> None:
        def connect() -> sqlite3.Connection:
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA temp_store=MEMORY")  # savepoint journals in memory, not a temporary file each
            if self.setup:
                try:
                    conn.executescript(self.setup)
                except sqlite3.Error as exc:
                    conn.close()
                    raise ConnectorError(f"sqlite {self.path}: the setup script failed: {exc}") from exc
            return conn

        try:
            self._conn = await self._thread.call(connect)
        except sqlite3.Error as exc:
            raise ConnectorError(f"sqlite {self.path}: {exc}") from exc

    async def close(self) -> None:
        if self._conn is not None:
            await self.call(lambda c: c.close())
            self._conn = None
        self._thread.stop()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        async with self._lock:
            tx = SqliteTx(self, begin="BEGIN IMMEDIATE")
            try:
                yield tx
            except BaseException:
                await tx.rollback()
                raise
            try:
                await tx.commit()
            except BaseException:
                if self._conn is not None and self._conn.in_transaction:
                    await tx.rollback()
                raise

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
