"""MariaDB/MySQL sink: upsert by `ON DUPLICATE KEY UPDATE` (needs a primary or unique key on
`key`); aiomysql sends an `executemany` of an INSERT as one multi-row statement."""

from __future__ import annotations

from collections.abc import Sequence

from interlace.connectors.sql.database import DELIVERED, Database
from interlace.connectors.sql.sink import SqlSink


class MysqlSink(SqlSink):
    def upsert_sql(self, db: Database, columns: Sequence[str], keys: Sequence[str]) -> str:
        updates = [c for c in columns if c not in keys] or list(keys[:1])
        return (
            f"INSERT INTO {db.q(self.options.table)} ({', '.join(map(db.q, columns))}) "
            f"VALUES ({db.phs(len(columns))}) "
            f"ON DUPLICATE KEY UPDATE {', '.join(f'{db.q(c)} = VALUES({db.q(c)})' for c in updates)}"
        )

    def delivered_ddl(self, db: Database) -> str:
        return (
            f"CREATE TABLE IF NOT EXISTS {DELIVERED} (sink VARCHAR(190) NOT NULL, "
            "delivery_id VARCHAR(190) NOT NULL, at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, "
            "PRIMARY KEY (sink, delivery_id))"
        )
