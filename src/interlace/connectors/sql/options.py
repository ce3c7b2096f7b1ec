"""What a flow's `trigger:` (source) and `deliver:` (sink) may say about a database system."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from interlace.connectors.base import Options
from interlace.connectors.sql.identifiers import Name, TableName
from interlace.options import parse_duration


def _names(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


class SqlSourceOptions(Options):
    """`trigger: {system: legacy, table: t, cursor: updated_at, key: id, every: 5s, batch: 500}`.

    Polls `table` (or `query`) for rows past the stored cursor, ordered by (cursor, key), as
    messages with event `row`; with `capture: true` reads the change outbox installed by
    `install_capture` instead (events insert, update and delete; no cursor column needed).
    The hub keeps `system` and `event` for itself: they never reach this model.
    """

    table: TableName | None = None
    query: str | None = None
    cursor: Name | None = None
    key: Name | list[Name] | None = None
    capture: bool = False
    every: float = Field(default=5.0, description="poll interval: 500ms, 5s, 2m")
    batch: int = Field(default=500, ge=1, le=100_000)

    @field_validator("every", mode="before")
    @classmethod
    def _every(cls, value: str | float) -> float:
        return parse_duration(value, positive=True)

    @model_validator(mode="after")
    def _shape(self) -> SqlSourceOptions:
        if (self.table is None) == (self.query is None):
            raise ValueError("give exactly one of `table` or `query`")
        if self.capture:
            if self.table is None:
                raise ValueError("`capture: true` reads a table's change outbox: give `table`")
        elif self.cursor is None:
            raise ValueError("polling needs a `cursor` column (updated_at, an increasing id)")
        return self

    @property
    def keys(self) -> list[str]:
        return _names(self.key)


Mode = Literal["insert", "upsert", "update", "delete", "mirror"]


class SqlSinkOptions(Options):
    """`deliver: {system: erp, table: orders, mode: upsert, key: order_no}`.

    Columns are the body's keys. `mirror` upserts, or deletes when the message's event is
    `delete` (what a `capture: true` source emits), so a table follows another one.
    """

    table: TableName
    mode: Mode = "insert"
    key: Name | list[Name] | None = None
    columns: list[Name] | None = Field(default=None, description="only these body keys are written")

    @model_validator(mode="after")
    def _shape(self) -> SqlSinkOptions:
        if self.mode != "insert" and not self.keys:
            raise ValueError(f"mode {self.mode!r} needs `key` (a column or a list of columns)")
        return self

    @property
    def keys(self) -> list[str]:
        return _names(self.key)
