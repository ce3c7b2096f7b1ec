"""SQLite change capture: triggers write each change as a JSON row into `_interlace_outbox`.

SQLite has a single writer, so outbox ids are assigned in commit order and a cursor on the id
never skips a change committed late.
"""

from __future__ import annotations

import json
from typing import Any

from interlace.connectors.sql.database import OUTBOX, Database
from interlace.connectors.sql.schema import Table
from interlace.connectors.sql.source import CaptureSource, Change


def _image(db: Database, table: Table, alias: str) -> str:
    pairs = ", ".join(f"'{c.name}', {alias}.{db.q(c.name)}" for c in table.columns)
    return f"json_object({pairs})"


class SqliteCapture(CaptureSource):
    @classmethod
    def capture_ddl(cls, db: Database, table: Table) -> list[str]:
        statements = [
            f"CREATE TABLE IF NOT EXISTS {OUTBOX} (id INTEGER PRIMARY KEY AUTOINCREMENT, "
            "tbl TEXT NOT NULL, op TEXT NOT NULL, data TEXT NOT NULL, "
            "at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')))",
            f"CREATE INDEX IF NOT EXISTS {OUTBOX}_tbl ON {OUTBOX} (tbl, id)",
        ]
        slug = table.name.replace(".", "_")
        for op, when, alias in (
            ("insert", "INSERT", "NEW"),
            ("update", "UPDATE", "NEW"),
            ("delete", "DELETE", "OLD"),
        ):
            trigger = f"_interlace_capture_{slug}_{op}"
            statements += [
                f"DROP TRIGGER IF EXISTS {trigger}",
                f"CREATE TRIGGER {trigger} AFTER {when} ON {db.q(table.name)} BEGIN "
                f"INSERT INTO {OUTBOX} (tbl, op, data) "
                f"VALUES ('{table.name}', '{op}', {_image(db, table, alias)}); END",
            ]
        return statements

    async def read_outbox(self, db: Database, table: str, after: Any, limit: int) -> list[Change]:
        rows = await db.fetch(
            f"SELECT id, op, data FROM {OUTBOX} WHERE tbl = ? AND id > ? ORDER BY id LIMIT {limit}",
            [table, after or 0],
        )
        return [Change(r["op"], json.loads(r["data"]), r["id"]) for r in rows]
