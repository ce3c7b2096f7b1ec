"""`systems: {erp: {connector: sqlite, path: ./erp.db, setup: ./erp.sql}}`."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from interlace.connectors.base import ConfigPath
from interlace.connectors.sql.settings import SqlSettings


class SqliteSettings(SqlSettings):
    connector_name: ClassVar[str] = "sqlite"
    path: ConfigPath = Field(description="the database file, created if absent; relative to the config file")
    busy_timeout: float = Field(default=5.0, gt=0, description="seconds to wait for another writer's lock")
