"""Writes messages into a table: insert, upsert, update, delete or mirror, a batch per transaction.

Effectively-once under redelivery: upsert, update and delete are idempotent by key; `insert`
records each delivery id in `_interlace_delivered` in the same transaction as the row, and skips
ids already there. A value that cannot be stored fails only its own message.
"""

from __future__ import annotations

import asyncio
import time
from abc import abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from interlace.connectors.base import Sink, deliver_through_many
from interlace.connectors.sql.coerce import Coercer, ValueNotStorable, coercer, fast_types
from interlace.connectors.sql.database import DELIVERED, Database, Tx
from interlace.connectors.sql.identifiers import BadIdentifier, check_name
from interlace.connectors.sql.options import SqlSinkOptions
from interlace.connectors.sql.schema import Table
from interlace.errors import DeliveryError
from interlace.message import Message
from interlace.types import JSON

Op = Literal["insert", "upsert", "update", "delete"]
_DONE: dict[Op, str] = {"insert": "inserted", "upsert": "upserted", "update": "updated", "delete": "deleted"}
_CHUNK = 500
_RELOAD_AFTER = 5.0
"""Seconds after reading a table's columns before a body key it lacks makes us read them again."""


class UnknownColumn(DeliveryError):
    """A body key that is not a column of the sink's table."""


@dataclass(slots=True)
class Write:
    """One message turned into one row operation."""

    index: int
    op: Op
    columns: tuple[str, ...]
    values: tuple[Any, ...]
    message: Message
    delivery_id: str


class SqlSink(Sink):
    """The engine-neutral sink; an engine supplies its upsert syntax and dedupe table DDL."""

    batched = True
    copy_threshold: int | None = None
    """Runs of at least this many rows go through the engine's bulk path (`write_bulk`)."""

    def __init__(self, database: Callable[[], Awaitable[Database]], options: SqlSinkOptions) -> None:
        self._database = database
        self.options = options
        self._table: Table | None = None
        self._coercers: dict[str, Coercer] = {}
        self._fast: dict[str, tuple[type, ...]] = {}
        self._converters: dict[tuple[str, ...], list[tuple[tuple[type, ...], Coercer]]] = {}
        self._delivered_ready = False
        self._delivered_lock = asyncio.Lock()
        self._loaded_at = 0.0
        self._keys = tuple(options.keys)

    @abstractmethod
    def upsert_sql(self, db: Database, columns: Sequence[str], keys: Sequence[str]) -> str:
        """INSERT of `columns` into the sink table, updating non-key columns when `keys` exist."""

    @abstractmethod
    def delivered_ddl(self, db: Database) -> str:
        """CREATE TABLE IF NOT EXISTS _interlace_delivered (sink, delivery_id, primary key both)."""

    async def deliver(self, message: Message, delivery_id: str) -> JSON:
        return await deliver_through_many(self, message, delivery_id)

    async def deliver_many(self, batch: Sequence[tuple[Message, str]]) -> list[JSON | Exception]:
        db = await self._database()
        try:
            table = await self._load_table(db)
        except Exception as exc:
            if not db.is_database_error(exc):
                raise  # ConnectorError (no such table) and the like: the hub retries, then parks
            raise DeliveryError(f"{self.options.table}: {_describe(exc)}", retryable=True) from exc
        results: list[JSON | Exception | None] = [None] * len(batch)
        writes: list[Write] = []
        for i, (message, delivery_id) in enumerate(batch):
            try:
                writes.append(self._plan(i, message, delivery_id, table))
            except UnknownColumn as exc:
                if time.monotonic() - self._loaded_at < _RELOAD_AFTER:
                    results[i] = exc
                    continue
                table = await self._load_table(db, refresh=True)  # the table may have gained the column
                try:
                    writes.append(self._plan(i, message, delivery_id, table))
                except DeliveryError as again:
                    results[i] = again
            except DeliveryError as exc:
                results[i] = exc
        try:
            if any(w.op == "insert" for w in writes):
                await self._ensure_delivered(db)
            async with db.transaction() as tx:
                await self._apply(db, tx, writes, results)
        except Exception as exc:
            if not db.is_database_error(exc):
                raise
            failed = DeliveryError(f"{self.options.table}: {_describe(exc)}", retryable=db.is_retryable(exc))
            for w in writes:
                if not isinstance(results[w.index], Exception):
                    results[w.index] = failed
        return [r if r is not None else DeliveryError("not delivered") for r in results]

    # -- planning ----------------------------------------------------------------------------

    async def _load_table(self, db: Database, *, refresh: bool = False) -> Table:
        if self._table is None or refresh:
            self._table = await db.table(self.options.table)
            self._coercers = {c.name: coercer(c) for c in self._table.columns if _valid(c.name)}
            self._fast = {c.name: fast_types(c) for c in self._table.columns}
            self._converters = {}
            self._loaded_at = time.monotonic()
        return self._table

    def _converter(self, names: tuple[str, ...]) -> list[tuple[tuple[type, ...], Coercer]]:
        """Per column of `names`: the value types stored as they are, and the coercer for the
        rest (KeyError for a name that is not a writable column). Cached per column tuple."""
        found = self._converters.get(names)
        if found is None:
            found = [(self._fast[n], self._coercers[n]) for n in names]
            if len(self._converters) > 256:  # bodies with ever new key sets: do not grow forever
                self._converters.clear()
            self._converters[names] = found
        return found

    def _plan(self, index: int, message: Message, delivery_id: str, table: Table) -> Write:
        body = message.body
        if not isinstance(body, dict):
            raise DeliveryError(
                f"a {self.options.table} row needs an object body, got {type(body).__name__}",
                retryable=False,
            )
        keys = self._keys
        if keys:
            missing = [k for k in keys if k not in body]
            if missing:
                raise DeliveryError(f"body has no key column {', '.join(map(repr, missing))}", retryable=False)
        mode = self.options.mode
        op: Op = mode if mode != "mirror" else ("delete" if message.event == "delete" else "upsert")
        allowed = self.options.columns
        if op == "delete":
            names = keys
        elif allowed is None:
            names = tuple(body)
        else:
            names = tuple(k for k in body if k in allowed or k in keys)
        if op == "update":
            names = tuple(k for k in names if k not in keys) + keys
        coercers = self._coercers
        try:
            convert = self._converter(names)
            values = tuple(
                [v if type(v) in fast else c(v) for (fast, c), v in zip(convert, [body[n] for n in names], strict=True)]
            )
        except KeyError:
            name = next(n for n in names if n not in coercers)
            try:
                check_name(name)
            except BadIdentifier as exc:
                raise DeliveryError(f"row key {self.row_key(message)!r}: {exc}", retryable=False) from None
            raise UnknownColumn(
                f"row key {self.row_key(message)!r}: table {table.name!r} has no column {name!r}",
                retryable=False,
            ) from None
        except ValueNotStorable as exc:
            raise exc.for_key(self.row_key(message)) from None
        return Write(index, op, names, values, message, delivery_id)

    def row_key(self, message: Message) -> str:
        """How errors name a row: its key columns' values, else the message key or id."""
        body = message.body if isinstance(message.body, dict) else {}
        named = self.options.keys or [k for k in (self._table.primary_key if self._table else []) if k in body]
        if named and all(k in body for k in named):
            return "|".join(str(body[k]) for k in named)
        return message.key if message.key is not None else message.id

    # -- writing -------------------------------------------------------------------------------

    async def _apply(self, db: Database, tx: Tx, writes: list[Write], results: list[Any]) -> None:
        fresh = await self._skip_delivered(db, tx, writes, results)
        try:
            async with tx.savepoint():
                await self._write_runs(db, tx, fresh)
            done = fresh
        except Exception as exc:
            if not db.is_database_error(exc) or db.is_retryable(exc):
                raise
            done = []
            suspects = fresh if len(fresh) > 1 else []  # a lone row is the one refused
            if len(fresh) == 1:
                results[fresh[0].index] = DeliveryError(
                    f"row key {self.row_key(fresh[0].message)!r}: {_describe(exc)}", retryable=False
                )
            for w in suspects:  # find the rows the database refuses, one savepoint each
                try:
                    async with tx.savepoint():
                        await self._write_runs(db, tx, [w])
                    done.append(w)
                except Exception as row_exc:
                    if not db.is_database_error(row_exc) or db.is_retryable(row_exc):
                        raise
                    results[w.index] = DeliveryError(
                        f"row key {self.row_key(w.message)!r}: {_describe(row_exc)}", retryable=False
                    )
        inserted = {w.delivery_id for w in done if w.op == "insert"}
        refused = [w.delivery_id for w in fresh if w.op == "insert" and w.delivery_id not in inserted]
        if inserted or refused:
            await self.confirm_delivered(db, tx, list(inserted), refused)
        for w in done:
            results[w.index] = {"status": _DONE[w.op]}

    async def _write_runs(self, db: Database, tx: Tx, writes: list[Write]) -> None:
        """Consecutive writes of the same operation and columns go as one statement batch;
        order is kept, so an insert then a delete of one key in a batch ends deleted."""
        start = 0
        for i in range(1, len(writes) + 1):
            if i == len(writes) or (writes[i].op, writes[i].columns) != (
                writes[start].op,
                writes[start].columns,
            ):
                run = writes[start:i]
                if type(db).adapt is Database.adapt:
                    rows = [w.values for w in run]
                else:
                    rows = [tuple([db.adapt(v) for v in w.values]) for w in run]
                if self.copy_threshold is not None and len(run) >= self.copy_threshold:
                    await self.write_bulk(db, tx, run[0].op, run[0].columns, rows)
                else:
                    await tx.executemany(self._statement(db, run[0].op, run[0].columns), rows)
                start = i

    async def write_bulk(
        self, db: Database, tx: Tx, op: Op, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
    ) -> None:
        """The engine's bulk path for a long run (PostgreSQL: COPY). Default: executemany."""
        await tx.executemany(self._statement(db, op, columns), rows)

    def _statement(self, db: Database, op: Op, columns: tuple[str, ...]) -> str:
        table, keys = db.q(self.options.table), self.options.keys
        if op == "insert":
            return f"INSERT INTO {table} ({', '.join(map(db.q, columns))}) VALUES ({db.phs(len(columns))})"
        if op == "upsert":
            return self.upsert_sql(db, columns, keys)
        if op == "update":
            sets = [c for c in columns if c not in keys]
            assignments = ", ".join(f"{db.q(c)} = {db.ph(i)}" for i, c in enumerate(sets, 1))
            return f"UPDATE {table} SET {assignments} WHERE {_match(db, keys, len(sets) + 1)}"
        return f"DELETE FROM {table} WHERE {_match(db, keys, 1)}"

    # -- effectively-once inserts ---------------------------------------------------------

    async def _ensure_delivered(self, db: Database) -> None:
        if self._delivered_ready:
            return
        async with self._delivered_lock:  # concurrent batches of this sink create it once
            if not self._delivered_ready:
                async with db.transaction() as tx:
                    await db.lock_for_ddl(tx)  # and other sinks and processes not at the same time
                    await tx.execute(self.delivered_ddl(db))
                self._delivered_ready = True

    async def _skip_delivered(self, db: Database, tx: Tx, writes: list[Write], results: list[Any]) -> list[Write]:
        inserts = [w for w in writes if w.op == "insert"]
        if not inserts:
            return writes
        new = await self.claim_delivered(db, tx, list(dict.fromkeys(w.delivery_id for w in inserts)))
        fresh = []
        for w in writes:
            if w.op == "insert":
                if w.delivery_id not in new:
                    results[w.index] = {"status": "duplicate"}
                    continue
                new.discard(w.delivery_id)  # the same id twice in one batch: the second is a duplicate
            fresh.append(w)
        return fresh

    async def claim_delivered(self, db: Database, tx: Tx, ids: list[str]) -> set[str]:
        """Those of `ids` this sink's table has not received before."""
        seen: set[str] = set()
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            rows = await tx.fetch(
                f"SELECT delivery_id FROM {DELIVERED} WHERE sink = {db.ph(1)} "
                f"AND delivery_id IN ({db.phs(len(chunk), 2)})",
                [self.options.table, *chunk],
            )
            seen.update(r["delivery_id"] for r in rows)
        return set(ids) - seen

    async def confirm_delivered(self, db: Database, tx: Tx, inserted: list[str], refused: list[str]) -> None:
        """Record the ids whose rows were written, in the rows' transaction (`refused`: claimed
        ids whose rows the database refused, for engines that record at claim time)."""
        if inserted:
            await tx.executemany(
                f"INSERT INTO {DELIVERED} (sink, delivery_id) VALUES ({db.phs(2)})",
                [(self.options.table, i) for i in inserted],
            )


def _valid(name: str) -> bool:
    try:
        check_name(name)
    except BadIdentifier:
        return False
    return True


def _match(db: Database, keys: Sequence[str], start: int) -> str:
    return " AND ".join(f"{db.q(k)} = {db.ph(i)}" for i, k in enumerate(keys, start))


def _describe(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return f"{type(exc).__name__}: {text}"


def on_conflict(db: Database, columns: Sequence[str], keys: Sequence[str]) -> str:
    """`ON CONFLICT (keys) DO UPDATE SET` the non-key columns (PostgreSQL and SQLite)."""
    updates = [c for c in columns if c not in keys]
    action = (
        "DO UPDATE SET " + ", ".join(f"{db.q(c)} = excluded.{db.q(c)}" for c in updates) if updates else "DO NOTHING"
    )
    return f"ON CONFLICT ({', '.join(map(db.q, keys))}) {action}"


def on_conflict_upsert(db: Database, table: str, columns: Sequence[str], keys: Sequence[str]) -> str:
    """An upsert of one row by a unique key (PostgreSQL and SQLite)."""
    return (
        f"INSERT INTO {db.q(table)} ({', '.join(map(db.q, columns))}) VALUES ({db.phs(len(columns))}) "
        f"{on_conflict(db, columns, keys)}"
    )
