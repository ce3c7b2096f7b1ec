"""Reading a subscribed system's current records, page by page, for `entity diff` and `backfill`:
a database table in key order, or an HTTP list. Each record comes back mapped into the entity's
shape (the subscriber's `inbound` mapping)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from interlace.config.models import Subscriber
from interlace.connectors.base import Connector
from interlace.connectors.sql.connector import SqlConnector
from interlace.connectors.sql.values import decode_cursor, encode_cursor, rows_to_json
from interlace.errors import ConnectorError
from interlace.mapping.jsonata import Expression, compile_expression
from interlace.types import JSON, JSONObject


class Reader(ABC):
    def __init__(self, system: str, inbound: str | None) -> None:
        self.system = system
        self.inbound: Expression | None = compile_expression(inbound) if inbound else None

    @abstractmethod
    async def raw_page(self, after: JSON, size: int) -> tuple[list[JSONObject], JSON]:
        """Up to `size` records after position `after` (None: from the start), and the position
        after them; no records when there are no more."""

    async def count(self) -> int | None:
        """How many records there are, when the system can tell cheaply."""
        return None

    async def page(self, after: JSON, size: int) -> tuple[list[JSONObject], JSON]:
        """Like `raw_page`, each record in the entity's shape."""
        rows, position = await self.raw_page(after, size)
        if self.inbound is None:
            return rows, position
        mapped = []
        for row in rows:
            value = self.inbound.evaluate(row)
            if isinstance(value, dict):
                mapped.append(value)
        return mapped, position


class SqlReader(Reader):
    def __init__(self, system: str, inbound: str | None, connector: SqlConnector, table: str, keys: list[str]) -> None:
        super().__init__(system, inbound)
        self.connector = connector
        self.table = table
        self.keys = keys

    async def count(self) -> int | None:
        db = await self.connector.database()
        rows = await db.fetch(f"SELECT count(*) AS n FROM {db.q(self.table)}")
        return int(rows[0]["n"])

    async def raw_page(self, after: JSON, size: int) -> tuple[list[JSONObject], JSON]:
        db = await self.connector.database()
        order = ", ".join(map(db.q, self.keys))
        where, params = "", []
        if after is not None:
            params = list(decode_cursor(after))
            if len(self.keys) == 1:
                where = f"WHERE {order} > {db.ph(1)}"
            else:
                where = f"WHERE ({order}) > ({db.phs(len(self.keys))})"
        rows = await db.fetch(f"SELECT * FROM {db.q(self.table)} {where} ORDER BY {order} LIMIT {int(size)}", params)
        if not rows:
            return [], after
        position = encode_cursor([rows[-1][k] for k in self.keys])
        return rows_to_json(rows), position


class HttpListReader(Reader):
    """GET `path` answering a JSON list of records (read once, then handed out in pages)."""

    def __init__(self, system: str, inbound: str | None, connector: Connector, path: str) -> None:
        super().__init__(system, inbound)
        self.connector = connector
        self.path = path
        self._records: list[JSONObject] | None = None

    async def _all(self) -> list[JSONObject]:
        if self._records is None:
            data = await self.connector.list_records(self.path)
            if not isinstance(data, list):
                raise ConnectorError(f"{self.system}: GET {self.path} must answer a JSON list")
            self._records = [r for r in data if isinstance(r, dict)]
        return self._records

    async def count(self) -> int | None:
        return len(await self._all())

    async def raw_page(self, after: JSON, size: int) -> tuple[list[JSONObject], JSON]:
        records = await self._all()
        start = int(after or 0)
        chunk = records[start : start + size]
        return chunk, start + len(chunk)


def _names(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def reader_for(system: str, sub: Subscriber, connector: Connector) -> Reader | None:
    """How to read a subscriber's records; None when the config does not say and cannot tell."""
    read = sub.read
    if isinstance(connector, SqlConnector):
        options: dict[str, Any] = {**(sub.deliver or {}), **(sub.trigger.extras if sub.trigger else {})}
        table = (read.table if read else None) or options.get("table")
        keys = _names(read.key if read else None) or _names(options.get("key"))
        if table is None or not keys:
            return None
        return SqlReader(system, sub.inbound, connector, table, keys)
    if read is not None and read.path is not None and connector.can_list_records:
        return HttpListReader(system, sub.inbound, connector, read.path)
    return None
