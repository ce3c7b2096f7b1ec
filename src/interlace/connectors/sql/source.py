"""Reads rows out of a database: polling by a cursor column, or change capture from an outbox.

Each batch is submitted together with its new cursor, in one hub transaction, so a restart
resumes exactly after the last durable batch (at-least-once, never a skipped row). Rows are
ordered by (cursor, key): many rows sharing one `updated_at` are never split and lost across
a batch boundary.
"""

from __future__ import annotations

import asyncio
import json
import logging
from abc import abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from interlace.connectors.base import Incoming, Ingress, Source
from interlace.connectors.sql.database import Database, Row
from interlace.connectors.sql.options import SqlSourceOptions
from interlace.connectors.sql.schema import Table
from interlace.connectors.sql.values import decode_cursor, encode_cursor, row_to_json, rows_to_json
from interlace.errors import ConnectorError

log = logging.getLogger("interlace.connectors.sql")


class _SqlSource(Source):
    def __init__(
        self, database: Callable[[], Awaitable[Database]], system: str, flow: str, options: SqlSourceOptions
    ) -> None:
        self._database = database
        self.system = system
        self.flow = flow
        self.options = options
        self.cursor_name = f"sql:{system}:{flow}"
        self._position: Any = None
        self._loaded = False

    async def run(self, ingress: Ingress) -> None:
        while True:
            try:
                count = await self.poll(ingress)
            except Exception as exc:
                db = await self._database()
                if not (db.is_database_error(exc) or isinstance(exc, OSError)):
                    raise
                log.warning("%s: polling failed, retrying in %ss: %s", self.system, self.options.every, exc)
                count = 0
            if not self.full(count):
                await self.wait(self.options.every)

    def full(self, count: int) -> bool:
        """Whether a poll that submitted `count` rows may have left more: poll again at once."""
        return count >= self.options.batch

    async def poll(self, ingress: Ingress) -> int:
        """Read and submit one batch; the number of rows submitted."""
        if not self._loaded:
            self._position = decode_cursor(await ingress.load_cursor(self.cursor_name))
            self._loaded = True
        items, position = await self.read(await self._database(), self._position)
        if items:
            await ingress.submit(self.flow, items, cursor=(self.cursor_name, encode_cursor(position)))
            self._position = position
        return len(items)

    async def wait(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    @abstractmethod
    async def read(self, db: Database, position: Any) -> tuple[list[Incoming], Any]:
        """One batch after `position`, and the position after it."""

    def _keys(self, rows: list[Row], columns: Sequence[str]) -> list[str]:
        """Each row's key: its key columns' values, joined by `|`."""
        try:
            if len(columns) == 1:
                (column,) = columns
                return [str(row[column]) for row in rows]
            return ["|".join(str(row[c]) for c in columns) for row in rows]
        except KeyError as exc:
            raise ConnectorError(f"{self.system}: rows have no key column {exc.args[0]!r}") from None


class PollingSource(_SqlSource):
    """`trigger: {system: legacy, table: t, cursor: updated_at, key: id, every: 5s, batch: 500}`."""

    async def read(self, db: Database, position: Any) -> tuple[list[Incoming], Any]:
        opts = self.options
        assert opts.cursor is not None  # the options model requires it when polling
        order = [opts.cursor, *opts.keys]
        source = db.q(opts.table) if opts.table else f"({opts.query}) AS _interlace_q"
        where, params = "", []
        if position is not None:
            where = f"WHERE ({', '.join(map(db.q, order))}) > ({db.phs(len(order))})"
            params = list(position)
        rows = await db.fetch(
            f"SELECT * FROM {source} {where} ORDER BY {', '.join(map(db.q, order))} LIMIT {opts.batch}",
            params,
        )
        if not rows:
            return [], position
        if opts.cursor not in rows[0]:
            raise ConnectorError(f"{self.system}: rows have no cursor column {opts.cursor!r}")
        last = [rows[-1][c] for c in order]  # before the rows become JSON
        cursor = opts.cursor
        marks = [_mark(row[cursor]) for row in rows]
        rows = rows_to_json(rows)
        keys = self._keys(rows, opts.keys or [cursor])
        prefix = f"{self.system}:{opts.table or 'query'}"
        items = [
            Incoming(body=row, event="row", key=key, idempotency_key=f"{prefix}:{key}@{mark}")
            for row, key, mark in zip(rows, keys, marks, strict=True)
        ]
        return items, last


def _mark(value: Any) -> str:
    return str(value) if type(value) in (int, str) else json.dumps(encode_cursor(value))


@dataclass(frozen=True)
class Change:
    op: str
    """insert, update or delete."""
    row: Row
    """The new row (the old one for a delete)."""
    position: Any


class CaptureSource(_SqlSource):
    """`trigger: {system: erp, table: orders, capture: true}`: changes (deletes too) from the outbox
    that `install_capture` fed by triggers. An engine supplies the DDL and the outbox read."""

    def __init__(
        self, database: Callable[[], Awaitable[Database]], system: str, flow: str, options: SqlSourceOptions
    ) -> None:
        super().__init__(database, system, flow, options)
        self._key_columns: list[str] = []

    @classmethod
    @abstractmethod
    def capture_ddl(cls, db: Database, table: Table) -> list[str]:
        """Statements creating the outbox and the triggers that feed it from `table`."""

    @abstractmethod
    async def read_outbox(self, db: Database, table: str, after: Any, limit: int) -> list[Change]:
        """Up to `limit` changes of `table` past `after` (None: from the start), in commit order."""

    async def read(self, db: Database, position: Any) -> tuple[list[Incoming], Any]:
        table = self.options.table
        assert table is not None  # the options model requires it with capture
        if not self._key_columns:
            self._key_columns = self.options.keys or (await db.table(table)).primary_key
            if not self._key_columns:
                raise ConnectorError(f"{self.system}: table {table!r} has no primary key: give `key`")
        changes = await self.read_outbox(db, table, position, self.options.batch)
        keys = self._keys([change.row for change in changes], self._key_columns)
        items = []
        for change, key in zip(changes, keys, strict=True):
            items.append(
                Incoming(
                    body=row_to_json(change.row),
                    event=change.op,
                    key=key,
                    idempotency_key=f"{self.system}:{table}:outbox:{json.dumps(encode_cursor(change.position))}",
                )
            )
        return items, (changes[-1].position if changes else position)


async def install_capture(db: Database, capture: type[CaptureSource], table: str) -> list[str]:
    """Create the outbox and the triggers feeding it from `table`; the statements run."""
    statements = capture.capture_ddl(db, await db.table(table))
    async with db.transaction() as tx:
        await db.lock_for_ddl(tx)
        for statement in statements:
            await tx.execute(statement)
    return statements
