"""SQLite sink: upsert by `ON CONFLICT`, batches through `executemany` in one transaction."""

from __future__ import annotations

from collections.abc import Sequence

from interlace.connectors.sql.database import DELIVERED, Database
from interlace.connectors.sql.sink import SqlSink, on_conflict_upsert


class SqliteSink(SqlSink):
    def upsert_sql(self, db: Database, columns: Sequence[str], keys: Sequence[str]) -> str:
        return on_conflict_upsert(db, self.options.table, columns, keys)

    def delivered_ddl(self, db: Database) -> str:
        return (
            f"CREATE TABLE IF NOT EXISTS {DELIVERED} (sink TEXT NOT NULL, delivery_id TEXT NOT NULL, "
            "at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP, PRIMARY KEY (sink, delivery_id)) WITHOUT ROWID"
        )
