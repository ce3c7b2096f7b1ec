"""The `sqlite` connector: a SQLite file as a source (poll, capture) and a sink."""

from __future__ import annotations

from interlace.connectors.sql.connector import SqlConnector
from interlace.connectors.sql.settings import read_setup
from interlace.connectors.sqlite.database import SqliteDatabase
from interlace.connectors.sqlite.settings import SqliteSettings
from interlace.connectors.sqlite.sink import SqliteSink
from interlace.connectors.sqlite.source import SqliteCapture


class SqliteConnector(SqlConnector):
    name = "sqlite"
    settings_model = SqliteSettings
    sink_class = SqliteSink
    capture_class = SqliteCapture
    settings: SqliteSettings

    def make_database(self) -> SqliteDatabase:
        s = self.settings
        return SqliteDatabase(str(s.path), setup=read_setup(s.setup), busy_timeout=s.busy_timeout)


__all__ = ["SqliteConnector", "SqliteSettings"]
