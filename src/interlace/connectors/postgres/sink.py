"""PostgreSQL sink: upsert by `ON CONFLICT`; long runs go through COPY (binary), upserts through
COPY into a staging table and one `INSERT ... SELECT ... ON CONFLICT`.

A chunk message of a bulk sync (see `bulk.py`) is not a row: its rows are streamed from the
source table with binary COPY, in the transaction that records its delivery id. A CSV chunk
message of a bulk `files` trigger (see `connectors/bulk.py`) likewise: its byte range of
the archived file is streamed with `COPY ... FROM STDIN (FORMAT csv)`."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from interlace.connectors import bulk as shared_bulk
from interlace.connectors.postgres import bulk
from interlace.connectors.postgres.database import PgTx, PostgresDatabase
from interlace.connectors.sql.database import DELIVERED, Database, Tx
from interlace.connectors.sql.schema import Column, Table
from interlace.connectors.sql.sink import _DONE, Op, SqlSink, _describe, on_conflict, on_conflict_upsert
from interlace.errors import DeliveryError
from interlace.message import Message
from interlace.types import JSON

_stages = itertools.count()


def _count(status: str) -> int:
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


def _split(table: str) -> tuple[str | None, str]:
    schema, _, bare = table.rpartition(".")
    return schema or None, bare


class PostgresSink(SqlSink):
    copy_threshold = 100

    async def deliver_many(self, batch: Sequence[tuple[Message, str]]) -> list[JSON | Exception]:
        chunks = [i for i, (message, _) in enumerate(batch) if shared_bulk.is_chunk(message)]
        if not chunks:
            return await super().deliver_many(batch)
        results: list[JSON | Exception] = [None] * len(batch)
        taken = set(chunks)
        rows = [i for i in range(len(batch)) if i not in taken]
        if rows:
            for i, result in zip(rows, await super().deliver_many([batch[i] for i in rows]), strict=True):
                results[i] = result

        async def one(i: int) -> None:
            try:
                message, delivery_id = batch[i]
                if shared_bulk.kind_of(message) == "csv":
                    results[i] = await self.deliver_csv_chunk(message, delivery_id)
                else:
                    results[i] = await self.deliver_chunk(message, delivery_id)
            except Exception as exc:  # each chunk's failure is its own
                results[i] = exc

        await asyncio.gather(*(one(i) for i in chunks))
        return results

    async def _deliver_once(
        self,
        message: Message,
        delivery_id: str,
        described: JSON,
        gates: Sequence[PostgresDatabase],
        work: Callable[[PostgresDatabase, PgTx], Awaitable[int]],
    ) -> JSON:
        """Run `work` (a chunk's copy; the rows it wrote) in the transaction that records the
        delivery id, unless that id was recorded before: effectively once per chunk."""
        db = await self._database()
        assert isinstance(db, PostgresDatabase)
        try:
            await self._ensure_delivered(db)
            async with bulk.copying(db, *gates), db.transaction() as tx:
                if not await self.claim_delivered(db, tx, [delivery_id]):
                    return {"status": "duplicate", "chunk": described}
                copied = await work(db, tx)
        except DeliveryError:
            raise
        except Exception as exc:
            if not db.is_database_error(exc):
                raise
            raise DeliveryError(
                f"{self.options.table}: chunk {message.key}: {_describe(exc)}", retryable=db.is_retryable(exc)
            ) from exc
        op: Op = "upsert" if self.options.mode == "mirror" else self.options.mode
        return {"status": _DONE[op], "rows": copied, "chunk": described}

    async def deliver_chunk(self, message: Message, delivery_id: str) -> JSON:
        """Copy the rows a chunk message describes from its source table, effectively once."""
        chunk = bulk.parse_chunk(message)
        origin = shared_bulk.find("rows", chunk.system, chunk.source)
        if origin is None:
            raise DeliveryError(
                f"chunk of {chunk.system!r}: no postgres system of that name (and database) in the running config",
                retryable=False,
            )
        db = await self._database()
        assert isinstance(db, PostgresDatabase)
        try:
            source = await origin.database()
            assert isinstance(source, PostgresDatabase)
            target = await self._load_table(db)
            origin_table = await source.table(chunk.table)
        except Exception as exc:
            if not db.is_database_error(exc):
                raise
            raise DeliveryError(
                f"{self.options.table}: chunk {message.key}: {_describe(exc)}", retryable=db.is_retryable(exc)
            ) from exc
        have = {c.name for c in origin_table.columns}
        columns = self._chunk_columns(f"source table {chunk.table!r} of {chunk.system!r}", target, have)
        source_types = {c.name: c.type for c in origin_table.columns}

        async def work(db: PostgresDatabase, tx: PgTx) -> int:
            return await self._copy_chunk(db, tx, source, chunk, columns, source_types, target)

        return await self._deliver_once(message, delivery_id, bulk.describe(chunk), [source], work)

    async def deliver_csv_chunk(self, message: Message, delivery_id: str) -> JSON:
        """Load the rows of a CSV file's byte range (a bulk `files` trigger), effectively once."""
        chunk = shared_bulk.parse_csv_chunk(message)
        path = shared_bulk.local_path(chunk.system, chunk.file)  # confined to the system's folder
        try:
            st = await asyncio.to_thread(path.stat)
        except FileNotFoundError:
            raise DeliveryError(f"CSV chunk: {chunk.file} is gone from {chunk.system!r}", retryable=False) from None
        if f"{st.st_size:x}-{st.st_mtime_ns:x}" != chunk.fingerprint or chunk.end > st.st_size:
            raise DeliveryError(f"CSV chunk: {chunk.file} of {chunk.system!r} changed since it was read",
                                retryable=False)  # fmt: skip
        db = await self._database()
        assert isinstance(db, PostgresDatabase)
        target = await self._load_table(db)
        names = set(chunk.columns)
        if len(names) != len(chunk.columns):
            raise DeliveryError(f"CSV chunk: {chunk.file}: a column name appears twice in the header", retryable=False)
        columns = self._chunk_columns(f"CSV file {chunk.file!r}", target, names)
        d = chunk.dialect

        async def copy(tx: PgTx, table: str, schema: str | None) -> str:
            status: str = await tx.conn.copy_to_table(
                table, source=shared_bulk.read_range(path, chunk.start, chunk.end), columns=chunk.columns,
                schema_name=schema, format="csv", delimiter=d.delimiter, quote=d.quote, escape=d.quote,
                encoding=d.encoding,
            )  # fmt: skip
            return status

        async def work(db: PostgresDatabase, tx: PgTx) -> int:
            return await self._copy_into(db, tx, chunk.columns, columns, target, copy)

        return await self._deliver_once(message, delivery_id, chunk.describe(), [], work)

    def _chunk_columns(self, what: str, target: Table, have: set[str]) -> list[Column]:
        """The target's columns a chunk writes: those its source has too (only the delivery's
        `columns` and keys when it names some)."""
        wanted = self.options.columns
        keys = self.options.keys
        columns = [
            c for c in target.columns if c.name in have and (wanted is None or c.name in wanted or c.name in keys)
        ]
        names = {c.name for c in columns}
        missing = [k for k in keys if k not in names]
        if missing or not columns:
            column = f"key column {', '.join(map(repr, missing))}" if missing else "column of the target"
            raise DeliveryError(f"{self.options.table}: {what} has no {column}", retryable=False)
        return columns

    async def _copy_into(
        self,
        db: PostgresDatabase,
        tx: PgTx,
        copied: Sequence[str],
        columns: list[Column],
        target: Table,
        copy: Callable[[PgTx, str, str | None], Awaitable[str]],
    ) -> int:
        """Run one COPY of the columns `copied` (in that order) and write `columns` of its rows
        into the target: straight into it in `insert` mode when every copied column is written,
        else through a temporary staging table (a column the target lacks staged as text), then
        one INSERT, upsert or UPDATE. The number of rows copied."""
        names = tuple(c.name for c in columns)
        mode = self.options.mode
        if mode == "insert" and sorted(copied) == sorted(names):
            schema, dest = _split(self.options.table)
            status = await copy(tx, dest, schema)
            return _count(status)
        types = {c.name: c.type for c in target.columns}
        stage = f"_interlace_stage_{next(_stages)}"
        await tx.execute(
            f"CREATE TEMP TABLE {stage} ("
            + ", ".join(f"{db.q(n)} {types.get(n, 'text')}" for n in copied)
            + ") ON COMMIT DROP"
        )
        status = await copy(tx, stage, None)
        await tx.execute(self._from_stage(db, stage, names))
        return _count(status)

    async def _copy_chunk(
        self,
        db: PostgresDatabase,
        tx: PgTx,
        source: PostgresDatabase,
        chunk: bulk.Chunk,
        columns: list[Column],
        source_types: dict[str, str],
        target: Table,
    ) -> int:
        """Stream the chunk's rows from the source into the target (or a staging table, then the
        target); the number of rows copied. Uses no connection of the pools but `tx`'s and the
        reader's: with a pool of one, any other would wait for ever."""
        exprs = ", ".join(
            db.q(c.name) if source_types.get(c.name) == c.type else f"{db.q(c.name)}::{c.type}" for c in columns
        )
        cursor = db.q(chunk.cursor)
        if chunk.low is None:
            where, params = f"{cursor} <= $1", [chunk.high]
        else:
            where, params = f"{cursor} > $1 AND {cursor} <= $2", [chunk.low, chunk.high]
        select = f"SELECT {exprs} FROM {db.q(chunk.table)} WHERE {where}"
        names = tuple(c.name for c in columns)

        async def copy(tx: PgTx, dest: str, schema: str | None) -> str:
            pipe = bulk.Pipe()

            async def produce() -> None:
                try:
                    async with bulk.reader(source, db) as conn:
                        await conn.copy_from_query(select, *params, output=pipe.put, format="binary")
                except BaseException as exc:
                    await pipe.close(exc)
                    raise
                await pipe.close()

            producer = asyncio.create_task(produce())
            try:
                status: str = await tx.conn.copy_to_table(
                    dest, source=pipe, columns=names, schema_name=schema, format="binary"
                )
            except BaseException:
                producer.cancel()
                with contextlib.suppress(BaseException):
                    await producer
                raise
            await producer
            return status

        return await self._copy_into(db, tx, names, columns, target, copy)

    def _from_stage(self, db: Database, stage: str, names: tuple[str, ...]) -> str:
        table, keys = db.q(self.options.table), self.options.keys
        listed = ", ".join(map(db.q, names))
        if self.options.mode == "update":
            sets = [c for c in names if c not in keys] or list(keys)
            assignments = ", ".join(f"{db.q(c)} = s.{db.q(c)}" for c in sets)
            match = " AND ".join(f"t.{db.q(k)} = s.{db.q(k)}" for k in keys)
            return f"UPDATE {table} AS t SET {assignments} FROM {stage} AS s WHERE {match}"
        if self.options.mode == "insert" or not keys:
            return f"INSERT INTO {table} ({listed}) SELECT {listed} FROM {stage}"
        return f"INSERT INTO {table} ({listed}) SELECT {listed} FROM {stage} {on_conflict(db, names, keys)}"

    def upsert_sql(self, db: Database, columns: Sequence[str], keys: Sequence[str]) -> str:
        return on_conflict_upsert(db, self.options.table, columns, keys)

    def delivered_ddl(self, db: Database) -> str:
        return (
            f'CREATE TABLE IF NOT EXISTS {DELIVERED} (sink text COLLATE "C" NOT NULL, '
            'delivery_id text COLLATE "C" NOT NULL, '
            "at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (sink, delivery_id))"
        )

    async def write_bulk(
        self, db: Database, tx: Tx, op: Op, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
    ) -> None:
        assert isinstance(tx, PgTx)
        schema, bare = _split(self.options.table)
        if op == "insert":
            await tx.conn.copy_records_to_table(bare, records=rows, columns=columns, schema_name=schema)
        elif op == "upsert":
            await self._copy_upsert(db, tx, columns, rows)
        else:
            await super().write_bulk(db, tx, op, columns, rows)

    async def _copy_upsert(self, db: Database, tx: PgTx, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        keys = self.options.keys
        at = [columns.index(k) for k in keys]
        latest = {tuple(row[i] for i in at): row for row in rows}  # one statement may touch a key once
        stage = f"_interlace_stage_{next(_stages)}"
        names = ", ".join(map(db.q, columns))
        await tx.execute(
            f"CREATE TEMP TABLE {stage} ON COMMIT DROP AS SELECT {names} FROM {db.q(self.options.table)} WITH NO DATA"
        )
        await tx.conn.copy_records_to_table(stage, records=list(latest.values()), columns=columns)
        await tx.execute(
            f"INSERT INTO {db.q(self.options.table)} ({names}) SELECT {names} FROM {stage} "
            f"{on_conflict(db, columns, keys)}"
        )

    async def claim_delivered(self, db: Database, tx: Tx, ids: list[str]) -> set[str]:
        # Recorded at once, each id checked by the primary key (a plan the table's statistics
        # cannot change, and a concurrent delivery of the same id waits for the other's outcome);
        # the answer is the (usually no) ids delivered before, not every new one.
        rows = await tx.fetch(
            f"WITH fresh AS (INSERT INTO {DELIVERED} (sink, delivery_id) SELECT $1, unnest($2::text[]) "
            "ON CONFLICT DO NOTHING RETURNING delivery_id) "
            "SELECT unnest($2::text[]) AS delivery_id EXCEPT ALL SELECT delivery_id FROM fresh",
            [self.options.table, ids],
        )
        return set(ids) - {r["delivery_id"] for r in rows}

    async def confirm_delivered(self, db: Database, tx: Tx, inserted: list[str], refused: list[str]) -> None:
        if refused:  # claimed, but the database refused their rows: not delivered after all
            await tx.execute(
                f"DELETE FROM {DELIVERED} WHERE sink = $1 AND delivery_id = ANY($2::text[])",
                [self.options.table, refused],
            )
