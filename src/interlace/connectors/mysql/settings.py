"""`systems: {crm: {connector: mysql, host: 127.0.0.1, user: root, database: test}}` or a `dsn`."""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

from pydantic import Field, model_validator

from interlace.connectors.sql.settings import SqlSettings


class MysqlSettings(SqlSettings):
    connector_name: ClassVar[str] = "mysql"
    """MariaDB or MySQL. A `dsn` (mysql://user:password@host:port/database) fills in the fields
    it names; the separate fields are there for passwords kept as `${env:NAME}`."""

    dsn: str | None = Field(default=None, description="mysql://user:password@host:port/database")
    host: str = "127.0.0.1"
    port: int = Field(default=3306, ge=1, le=65535)
    user: str = "root"
    password: str = ""
    database: str | None = None
    pool: int = Field(default=5, ge=1, le=100, description="most connections held open")

    @model_validator(mode="before")
    @classmethod
    def _from_dsn(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not data.get("dsn"):
            return data
        url = urlsplit(data["dsn"])
        if url.scheme not in ("mysql", "mariadb", "mysql+aiomysql"):
            raise ValueError("dsn must start with mysql:// or mariadb://")
        found = {
            "host": url.hostname,
            "port": url.port,
            "user": unquote(url.username) if url.username else None,
            "password": unquote(url.password) if url.password else None,
            "database": url.path.lstrip("/") or None,
        }
        return {**{k: v for k, v in found.items() if v is not None}, **data}
