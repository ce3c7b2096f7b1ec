"""PostgreSQL sink: upsert by `ON CONFLICT`; long runs go through COPY (binary), upserts through
COPY into a staging table and one `INSERT ... SELECT ... ON CONFLICT`.

A chunk message of a bulk sync (see `bulk.py`) is not a row: its rows are streamed from the
source table with binary COPY, in the transaction that records its delivery id."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Sequence
from typing import Any

from interlace.connectors.postgres import bulk
from interlace.connectors.postgres.database import PgTx, PostgresDatabase
from interlace.connectors.sql.database import DELIVERED, Database, Tx
from interlace.connectors.sql.schema import Column, Table
from interlace.connectors.sql.sink import _DONE, Op, SqlSink, _describe, on_conflict, on_conflict_upsert
from interlace.errors import DeliveryError
from interlace.message import Message
from interlace.types import JSON

_stages = itertools.count()


def _split(table: str) -> tuple[str | None, str]:
    schema, _, bare = table.rpartition(".")
    return schema or None, bare


class PostgresSink(SqlSink):
    copy_threshold = 100

    async def deliver_many(self, batch: Sequence[tuple[Message, str]]) -> list[JSON | Exception]:
        chunks = [i for i, (message, _) in enumerate(batch) if bulk.is_chunk(message)]
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
                results[i] = await self.deliver_chunk(*batch[i])
            except Exception as exc:  # each chunk's failure is its own
                results[i] = exc

        await asyncio.gather(*(one(i) for i in chunks))
        return results

    async def deliver_chunk(self, message: Message, delivery_id: str) -> JSON:
        """Copy the rows a chunk message describes from its source table, effectively once."""
        chunk = bulk.parse_chunk(message)
        origin = bulk.find(chunk.system, chunk.source)
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
            columns = self._chunk_columns(chunk, target, origin_table)
            source_types = {c.name: c.type for c in origin_table.columns}
            await self._ensure_delivered(db)
            async with bulk.copying(db, source), db.transaction() as tx:
                if not await self.claim_delivered(db, tx, [delivery_id]):
                    return {"status": "duplicate", "chunk": bulk.describe(chunk)}
                copied = await self._copy_chunk(db, tx, source, chunk, columns, source_types)
        except DeliveryError:
            raise
        except Exception as exc:
            if not db.is_database_error(exc):
                raise
            raise DeliveryError(
                f"{self.options.table}: chunk {message.key}: {_describe(exc)}", retryable=db.is_retryable(exc)
            ) from exc
        op: Op = "upsert" if self.options.mode == "mirror" else self.options.mode
        return {"status": _DONE[op], "rows": copied, "chunk": bulk.describe(chunk)}

    def _chunk_columns(self, chunk: bulk.Chunk, target: Table, source: Table) -> list[Column]:
        """The target's columns the chunk writes: those the source table has too (only the
        delivery's `columns` and keys when it names some)."""
        have = {c.name for c in source.columns}
        wanted = self.options.columns
        keys = self.options.keys
        columns = [
            c for c in target.columns if c.name in have and (wanted is None or c.name in wanted or c.name in keys)
        ]
        names = {c.name for c in columns}
        missing = [k for k in keys if k not in names]
        if missing or not columns:
            what = f"key column {', '.join(map(repr, missing))}" if missing else "column of the target"
            raise DeliveryError(
                f"{self.options.table}: source table {chunk.table!r} of {chunk.system!r} has no {what}",
                retryable=False,
            )
        return columns

    async def _copy_chunk(
        self,
        db: PostgresDatabase,
        tx: PgTx,
        source: PostgresDatabase,
        chunk: bulk.Chunk,
        columns: list[Column],
        source_types: dict[str, str],
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
        mode = self.options.mode
        if mode == "insert":
            schema, dest = _split(self.options.table)
        else:
            schema, dest = None, f"_interlace_stage_{next(_stages)}"
            listed = ", ".join(map(db.q, names))
            await tx.execute(
                f"CREATE TEMP TABLE {dest} ON COMMIT DROP AS SELECT {listed} FROM {db.q(self.options.table)} "
                "WITH NO DATA"
            )
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
            status = await tx.conn.copy_to_table(dest, source=pipe, columns=names, schema_name=schema, format="binary")
        except BaseException:
            producer.cancel()
            with contextlib.suppress(BaseException):
                await producer
            raise
        await producer
        copied = int(status.rsplit(" ", 1)[-1]) if status.rsplit(" ", 1)[-1].isdigit() else 0
        if mode != "insert":
            await tx.execute(self._from_stage(db, dest, names))
        return copied

    def _from_stage(self, db: Database, stage: str, names: tuple[str, ...]) -> str:
        table, keys = db.q(self.options.table), self.options.keys
        listed = ", ".join(map(db.q, names))
        if self.options.mode == "update":
            sets = [c for c in names if c not in keys] or list(keys)
            assignments = ", ".join(f"{db.q(c)} = s.{db.q(c)}" for c in sets)
            match = " AND ".join(f"t.{db.q(k)} = s.{db.q(k)}" for k in keys)
            return f"UPDATE {table} AS t SET {assignments} FROM {stage} AS s WHERE {match}"
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
