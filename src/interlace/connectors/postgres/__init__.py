"""The `postgres` connector: PostgreSQL as a source (poll, trigger-fed capture) and a sink (COPY)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from interlace.connectors import bulk as shared_bulk
from interlace.connectors.postgres import bulk
from interlace.connectors.postgres.database import PostgresDatabase
from interlace.connectors.postgres.options import PostgresSourceOptions
from interlace.connectors.postgres.settings import PostgresSettings
from interlace.connectors.postgres.sink import PostgresSink
from interlace.connectors.postgres.source import PostgresCapture
from interlace.connectors.sql.connector import SqlConnector
from interlace.connectors.sql.options import SqlSinkOptions
from interlace.connectors.sql.settings import read_setup
from interlace.connectors.sql.sink import SqlSink
from interlace.connectors.sql.source import CaptureSource, PollingSource


class PostgresConnector(SqlConnector):
    name = "postgres"
    settings_model = PostgresSettings
    sink_class = PostgresSink
    capture_class = PostgresCapture
    source_options = PostgresSourceOptions
    settings: PostgresSettings

    def __init__(self, system: str, settings: Any) -> None:
        super().__init__(system, settings)
        # the sinks copying this system's chunks find it by name and database
        shared_bulk.register("rows", system, self, bulk.fingerprint(self.settings.dsn))

    @classmethod
    def check_flow(
        cls, options: Any, flow: Any, deliveries: Sequence[tuple[str | None, Any]], settings: Any
    ) -> list[tuple[tuple[str | int, ...], str]]:
        if not isinstance(options, PostgresSourceOptions):
            return []
        return options.check_flow(flow, deliveries, settings)

    def make_database(self) -> PostgresDatabase:
        s = self.settings
        return PostgresDatabase(s.dsn, setup=read_setup(s.setup), pool=s.pool)

    def source(self, flow: str, options: Any) -> PollingSource | CaptureSource:
        if isinstance(options, PostgresSourceOptions) and options.bulk:
            return bulk.BulkSource(self.database, self.system, flow, options, bulk.fingerprint(self.settings.dsn))
        return super().source(flow, options)

    def sink(self, options: SqlSinkOptions) -> SqlSink:
        sink = super().sink(options)
        sink.copy_threshold = self.settings.copy_threshold
        return sink


__all__ = ["PostgresConnector", "PostgresSettings", "PostgresSourceOptions"]
