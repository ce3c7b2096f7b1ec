"""What every database system entry may say, whatever the engine."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field

from interlace.connectors.base import ConfigPath, Options


class SqlSettings(Options):
    setup: ConfigPath | None = Field(
        default=None,
        description="a .sql file run when the hub first connects (CREATE TABLE IF NOT EXISTS ...); "
        "relative to the config file",
    )

    connector_name: ClassVar[str]
    """The connector these settings belong to, by its registered name (`connectors/registry.py`)."""


def read_setup(path: Path | None) -> str | None:
    """The text of a setup script, or None."""
    return None if path is None else path.read_text(encoding="utf-8")
