"""The `postgres` connector: PostgreSQL as a source (poll, trigger-fed capture) and a sink (COPY)."""

from __future__ import annotations

from interlace.connectors.postgres.database import PostgresDatabase
from interlace.connectors.postgres.settings import PostgresSettings
from interlace.connectors.postgres.sink import PostgresSink
from interlace.connectors.postgres.source import PostgresCapture
from interlace.connectors.sql.connector import SqlConnector
from interlace.connectors.sql.options import SqlSinkOptions
from interlace.connectors.sql.settings import read_setup
from interlace.connectors.sql.sink import SqlSink


class PostgresConnector(SqlConnector):
    name = "postgres"
    settings_model = PostgresSettings
    sink_class = PostgresSink
    capture_class = PostgresCapture
    settings: PostgresSettings

    def make_database(self) -> PostgresDatabase:
        s = self.settings
        return PostgresDatabase(s.dsn, setup=read_setup(s.setup), pool=s.pool)

    def sink(self, options: SqlSinkOptions) -> SqlSink:
        sink = super().sink(options)
        sink.copy_threshold = self.settings.copy_threshold
        return sink


__all__ = ["PostgresConnector", "PostgresSettings"]
