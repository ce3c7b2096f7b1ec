"""`systems: {erp: {connector: postgres, dsn: "postgresql://postgres@127.0.0.1:5432/test"}}`."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from interlace.connectors.sql.settings import SqlSettings


class PostgresSettings(SqlSettings):
    connector_name: ClassVar[str] = "postgres"
    dsn: str = Field(description="postgresql://user:password@host:port/database (use ${env:NAME})")
    pool: int = Field(default=5, ge=1, le=100, description="most connections held open")
    copy_threshold: int = Field(default=100, ge=1, description="batches this long are written with COPY")
