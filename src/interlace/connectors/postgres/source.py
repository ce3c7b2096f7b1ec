"""PostgreSQL change capture: a trigger writes each change into `_interlace_outbox`, and a
NOTIFY wakes the source at once (no polling delay; the poll interval is only a fallback).

Outbox ids come from a sequence before their transaction commits, so a change can become
visible after one with a higher id. The source only reads up to a safe horizon: the sequence's
last value, once every transaction that was writing to the outbox when that value was read has
ended. Only the outbox's own writers (they hold its RowExclusiveLock until they end) are waited
for, never unrelated long transactions elsewhere in the cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import asyncpg

from interlace.connectors.base import Ingress
from interlace.connectors.postgres.database import PostgresDatabase
from interlace.connectors.sql.database import OUTBOX, Database
from interlace.connectors.sql.schema import Table
from interlace.connectors.sql.source import CaptureSource, Change

CHANNEL = "interlace_capture"

_FUNCTION = f"""
CREATE OR REPLACE FUNCTION _interlace_capture() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    INSERT INTO {OUTBOX} (tbl, op, data) VALUES (TG_ARGV[0], 'delete', to_jsonb(OLD));
  ELSE
    INSERT INTO {OUTBOX} (tbl, op, data) VALUES (TG_ARGV[0], lower(TG_OP), to_jsonb(NEW));
  END IF;
  PERFORM pg_notify('{CHANNEL}', TG_ARGV[0]);
  RETURN NULL;
END $$
"""


class PostgresCapture(CaptureSource):
    _listener: asyncpg.Connection | None = None
    _woken: asyncio.Event | None = None
    _safe = 0
    _pending: tuple[int, frozenset[str]] | None = None
    """A sequence value, and the transactions writing to the outbox when it was read."""

    @classmethod
    def capture_ddl(cls, db: Database, table: Table) -> list[str]:
        quoted = db.q(table.name)
        return [
            f"CREATE TABLE IF NOT EXISTS {OUTBOX} (id bigserial PRIMARY KEY, tbl text NOT NULL, "
            "op text NOT NULL, data jsonb NOT NULL, at timestamptz NOT NULL DEFAULT now())",
            f"CREATE INDEX IF NOT EXISTS {OUTBOX}_tbl ON {OUTBOX} (tbl, id)",
            _FUNCTION,
            f"DROP TRIGGER IF EXISTS _interlace_capture ON {quoted}",
            f"CREATE TRIGGER _interlace_capture AFTER INSERT OR UPDATE OR DELETE ON {quoted} "
            f"FOR EACH ROW EXECUTE FUNCTION _interlace_capture('{table.name}')",
        ]

    async def read_outbox(self, db: Database, table: str, after: Any, limit: int) -> list[Change]:
        last = int(after or 0)
        horizon = await self._horizon(db)
        if horizon <= last:
            return []
        rows = await db.fetch(
            f"SELECT id, op, data FROM {OUTBOX} WHERE tbl = $1 AND id > $2 AND id <= $3 ORDER BY id LIMIT {limit}",
            [table, last, horizon],
        )
        return [Change(r["op"], r["data"], r["id"]) for r in rows]

    async def _horizon(self, db: Database) -> int:
        """The highest outbox id below which no change can still appear."""
        (seq,) = await db.fetch(f"SELECT last_value AS v FROM {OUTBOX}_id_seq")
        writers = {
            r["vx"]
            for r in await db.fetch(
                "SELECT virtualtransaction AS vx FROM pg_locks WHERE locktype = 'relation' "
                f"AND relation = '{OUTBOX}'::regclass AND mode = 'RowExclusiveLock' AND granted"
            )
        }
        if not writers:
            self._pending = None
            self._safe = int(seq["v"])
        elif self._pending is None or not (self._pending[1] & writers):
            if self._pending is not None:  # the writers seen then have all ended
                self._safe = max(self._safe, self._pending[0])
            self._pending = (int(seq["v"]), frozenset(writers))
        return self._safe

    async def run(self, ingress: Ingress) -> None:
        try:
            await super().run(ingress)
        finally:
            if self._listener is not None:
                listener, self._listener = self._listener, None
                await listener.close()

    async def wait(self, seconds: float) -> None:
        if self._woken is None:
            db = await self._database()
            assert isinstance(db, PostgresDatabase)
            self._woken = asyncio.Event()
            self._listener = await db.connect()
            await self._listener.add_listener(CHANNEL, self._notified)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._woken.wait(), seconds)
        self._woken.clear()

    def _notified(self, conn: object, pid: int, channel: str, payload: str) -> None:
        if payload == self.options.table and self._woken is not None:
            self._woken.set()
