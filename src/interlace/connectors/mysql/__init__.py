"""The `mysql` connector: MariaDB or MySQL as a source (poll, trigger-fed capture) and a sink."""

from __future__ import annotations

from interlace.connectors.mysql.database import MysqlDatabase
from interlace.connectors.mysql.settings import MysqlSettings
from interlace.connectors.mysql.sink import MysqlSink
from interlace.connectors.mysql.source import MysqlCapture
from interlace.connectors.sql.connector import SqlConnector
from interlace.connectors.sql.settings import read_setup


class MysqlConnector(SqlConnector):
    name = "mysql"
    settings_model = MysqlSettings
    sink_class = MysqlSink
    capture_class = MysqlCapture
    settings: MysqlSettings

    def make_database(self) -> MysqlDatabase:
        s = self.settings
        return MysqlDatabase(
            host=s.host, port=s.port, user=s.user, password=s.password, database=s.database,
            setup=read_setup(s.setup), pool=s.pool,
        )  # fmt: skip


__all__ = ["MysqlConnector", "MysqlSettings"]
