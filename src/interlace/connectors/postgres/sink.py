"""PostgreSQL sink: upsert by `ON CONFLICT`; long runs go through COPY (binary), upserts through
COPY into a staging table and one `INSERT ... SELECT ... ON CONFLICT`."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from interlace.connectors.postgres.database import PgTx
from interlace.connectors.sql.database import DELIVERED, Database, Tx
from interlace.connectors.sql.sink import Op, SqlSink, on_conflict, on_conflict_upsert

_stages = itertools.count()


def _split(table: str) -> tuple[str | None, str]:
    schema, _, bare = table.rpartition(".")
    return schema or None, bare


class PostgresSink(SqlSink):
    copy_threshold = 100

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
