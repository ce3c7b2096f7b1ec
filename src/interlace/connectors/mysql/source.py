"""MariaDB/MySQL change capture: one trigger per operation writes the row as JSON into
`_interlace_outbox`.

The outbox is read with a locking read, which waits for transactions still inserting into it, so
a change committed late is not passed over. (An auto-increment id is taken a moment before its
row enters the index; a change in that moment can still be missed: use PostgreSQL capture where
that matters, or poll by cursor.)
"""

from __future__ import annotations

import json
from typing import Any

from interlace.connectors.sql.database import OUTBOX, Database
from interlace.connectors.sql.schema import Table
from interlace.connectors.sql.source import CaptureSource, Change


def _image(db: Database, table: Table, alias: str) -> str:
    pairs = ", ".join(f"'{c.name}', {alias}.{db.q(c.name)}" for c in table.columns)
    return f"JSON_OBJECT({pairs})"


class MysqlCapture(CaptureSource):
    @classmethod
    def capture_ddl(cls, db: Database, table: Table) -> list[str]:
        statements = [
            f"CREATE TABLE IF NOT EXISTS {OUTBOX} (id BIGINT AUTO_INCREMENT PRIMARY KEY, "
            "tbl VARCHAR(128) NOT NULL, op VARCHAR(8) NOT NULL, data LONGTEXT NOT NULL, "
            "at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), "
            f"KEY {OUTBOX}_tbl (tbl, id))",
        ]
        slug = table.name.replace(".", "_")
        for op, alias in (("insert", "NEW"), ("update", "NEW"), ("delete", "OLD")):
            trigger = db.q(f"_interlace_capture_{slug}_{op}")
            statements += [
                f"DROP TRIGGER IF EXISTS {trigger}",
                f"CREATE TRIGGER {trigger} AFTER {op.upper()} ON {db.q(table.name)} FOR EACH ROW "
                f"INSERT INTO {OUTBOX} (tbl, op, data) VALUES ('{table.name}', '{op}', {_image(db, table, alias)})",
            ]
        return statements

    async def read_outbox(self, db: Database, table: str, after: Any, limit: int) -> list[Change]:
        async with db.transaction() as tx:
            rows = await tx.fetch(
                f"SELECT id, op, data FROM {OUTBOX} WHERE tbl = %s AND id > %s ORDER BY id LIMIT {limit} "
                "LOCK IN SHARE MODE",
                [table, after or 0],
            )
        return [Change(r["op"], json.loads(r["data"]), r["id"]) for r in rows]
