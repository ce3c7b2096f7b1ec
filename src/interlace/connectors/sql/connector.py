"""The engine-neutral connector: one lazily opened connection pool per system."""

from __future__ import annotations

import asyncio
from abc import abstractmethod
from typing import Any, ClassVar

from interlace.connectors.base import Connector
from interlace.connectors.sql.database import Database
from interlace.connectors.sql.lookup import Lookup
from interlace.connectors.sql.options import SqlSinkOptions, SqlSourceOptions
from interlace.connectors.sql.schema import Table
from interlace.connectors.sql.sink import SqlSink
from interlace.connectors.sql.source import CaptureSource, PollingSource, install_capture
from interlace.errors import ConnectorError
from interlace.types import JSON, JSONObject


class SqlConnector(Connector):
    """Source (poll or capture), sink, lookup, introspection and capture install for one system."""

    source_options = SqlSourceOptions
    sink_options = SqlSinkOptions
    sink_class: ClassVar[type[SqlSink]]
    capture_class: ClassVar[type[CaptureSource]]

    def __init__(self, system: str, settings: Any) -> None:
        super().__init__(system, settings)
        self._db: Database | None = None
        self._opening = asyncio.Lock()
        self._lookup: Lookup | None = None

    @abstractmethod
    def make_database(self) -> Database:
        """A not yet opened database for these settings."""

    async def database(self) -> Database:
        """The open connection pool (opened, and the setup script run, on first use)."""
        if self._db is None:
            async with self._opening:
                if self._db is None:
                    db = self.make_database()
                    try:
                        await db.open()
                    except OSError as exc:
                        raise ConnectorError(f"{self.system}: cannot connect to {self.name}: {exc}") from exc
                    self._db = db
        return self._db

    def source(self, flow: str, options: SqlSourceOptions) -> PollingSource | CaptureSource:
        kind = self.capture_class if options.capture else PollingSource
        return kind(self.database, self.system, flow, options)

    def sink(self, options: SqlSinkOptions) -> SqlSink:
        return self.sink_class(self.database, options)

    async def probe(self) -> None:
        try:
            db = await self.database()
            await db.fetch("SELECT 1 AS ok")
        except ConnectorError:
            raise
        except Exception as exc:
            raise ConnectorError(f"{self.system}: {self.name} is not reachable: {exc}") from exc

    async def close(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            await db.close()

    async def inspect(self) -> list[Table]:
        """Every user table with its columns, types, nullability and primary key."""
        return await (await self.database()).tables()

    async def table(self, name: str) -> Table:
        return await (await self.database()).table(name)

    can_look_up = True

    async def lookup(self, table: str, where: dict[str, JSON]) -> JSONObject | None:
        """The enrich step's lookup: first row of `table` matching `where`, cached for 60 s."""
        if self._lookup is None:
            self._lookup = Lookup(self.database)
        return await self._lookup.lookup(table, where)

    async def install_capture(self, table: str) -> list[str]:
        """Create the change outbox and the triggers feeding it from `table`."""
        return await install_capture(await self.database(), self.capture_class, table)
