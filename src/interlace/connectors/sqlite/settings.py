"""`systems: {erp: {connector: sqlite, path: ./erp.db, setup: ./erp.sql}}`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from interlace.connectors.base import ConfigPath
from interlace.connectors.sql.settings import SqlSettings

if TYPE_CHECKING:
    from interlace.connectors.sql.connector import SqlConnector


class SqliteSettings(SqlSettings):
    path: ConfigPath = Field(description="the database file, created if absent; relative to the config file")
    busy_timeout: float = Field(default=5.0, gt=0, description="seconds to wait for another writer's lock")

    def connector_class(self) -> type[SqlConnector]:
        from interlace.connectors.sqlite import SqliteConnector

        return SqliteConnector
