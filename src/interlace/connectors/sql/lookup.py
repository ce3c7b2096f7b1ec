"""The `enrich` step's database lookup: one row by equality on some columns, with a TTL cache."""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from interlace.connectors.sql.coerce import coercer
from interlace.connectors.sql.database import Database
from interlace.connectors.sql.schema import Table
from interlace.connectors.sql.values import row_to_json
from interlace.errors import ConnectorError
from interlace.types import JSON, JSONObject


class Lookup:
    """`await lookup("customers", {"email": "a@x.test"})` -> the first matching row, or None.

    Results (misses too) are kept `ttl` seconds, at most `size` of them (least recently used go
    first). Values are coerced to the column types, so a JSON string finds a date column's row.
    `clock` (seconds, monotonic) says when entries expire; tests pass their own.
    """

    def __init__(
        self,
        database: Callable[[], Awaitable[Database]],
        *,
        ttl: float = 60.0,
        size: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._database = database
        self._clock = clock
        self.ttl = ttl
        self.size = size
        self._cache: OrderedDict[str, tuple[float, JSONObject | None]] = OrderedDict()
        self._tables: dict[str, Table] = {}
        self.hits = 0
        self.misses = 0

    async def __call__(self, table: str, where: dict[str, JSON]) -> JSONObject | None:
        return await self.lookup(table, where)

    async def lookup(self, table: str, where: dict[str, JSON]) -> JSONObject | None:
        if not where:
            raise ConnectorError("a lookup needs at least one column to match")
        cache_key = json.dumps([table, sorted(where.items())], default=str)
        now = self._clock()
        cached = self._cache.get(cache_key)
        if cached is not None and cached[0] > now:
            self._cache.move_to_end(cache_key)
            self.hits += 1
            return cached[1]
        self.misses += 1
        row = await self._fetch(table, where)
        self._cache[cache_key] = (now + self.ttl, row)
        self._cache.move_to_end(cache_key)
        while len(self._cache) > self.size:
            self._cache.popitem(last=False)
        return row

    def clear(self) -> None:
        self._cache.clear()
        self._tables.clear()

    async def _fetch(self, table: str, where: dict[str, JSON]) -> JSONObject | None:
        db = await self._database()
        info = self._tables.get(table)
        if info is None:
            info = self._tables[table] = await db.table(table)
        columns = info.by_name
        params: list[Any] = []
        conditions: list[str] = []
        for name, value in where.items():
            column = columns.get(name)
            if column is None:
                raise ConnectorError(f"lookup: table {table!r} has no column {name!r}")
            if value is None:
                conditions.append(f"{db.q(name)} IS NULL")
            else:
                params.append(db.adapt(coercer(column)(value)))
                conditions.append(f"{db.q(name)} = {db.ph(len(params))}")
        condition = " AND ".join(conditions)
        rows = await db.fetch(f"SELECT * FROM {db.q(table)} WHERE {condition} LIMIT 1", params)
        return row_to_json(rows[0]) if rows else None
