"""What every database system entry may say, whatever the engine."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field

from interlace.connectors.base import ConfigPath, Options

if TYPE_CHECKING:
    from interlace.connectors.sql.connector import SqlConnector


class SqlSettings(Options):
    setup: ConfigPath | None = Field(
        default=None,
        description="a .sql file run when the hub first connects (CREATE TABLE IF NOT EXISTS ...); "
        "relative to the config file",
    )

    def connector_class(self) -> type[SqlConnector]:
        """The connector these settings belong to."""
        raise NotImplementedError


def read_setup(path: Path | None) -> str | None:
    """The text of a setup script, or None."""
    return None if path is None else path.read_text(encoding="utf-8")
