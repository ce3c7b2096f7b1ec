"""What a flow's `trigger:` may say about a PostgreSQL system: the shared polling and capture
options, and the bulk sync (`bulk: true`), which moves a table in chunks instead of rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import Field, model_validator

from interlace.connectors.bulk import Problem, bulk_flow_problems
from interlace.connectors.sql.options import SqlSourceOptions


class PostgresSourceOptions(SqlSourceOptions):
    """`trigger: {system: legacy, table: orders, cursor: id, bulk: true, chunk: 50000}`.

    With `bulk: true` the source emits one message per chunk of rows (a cursor range and a row
    count, event `chunk`) instead of one per row; the `postgres` sink copies the range straight
    from the source table (binary COPY, no per-row Python). Only for a flow without steps whose
    every delivery is a `postgres` table: `interlace check` refuses anything else.
    """

    bulk: bool = Field(default=False, description="sync the table in chunks of rows, not row by row")
    chunk: int = Field(default=50_000, ge=1, le=10_000_000, description="rows per chunk (bulk)")

    @model_validator(mode="after")
    def _bulk(self) -> PostgresSourceOptions:
        if self.bulk:
            if self.capture:
                raise ValueError("`bulk: true` polls by a cursor column; it cannot be combined with `capture`")
            if self.table is None:
                raise ValueError("`bulk: true` copies a table: give `table`, not `query`")
        return self

    def check_flow(
        self, flow: Any, deliveries: Sequence[tuple[str | None, Any]], settings: Any = None
    ) -> list[Problem]:
        """The loader's cross-check of a trigger against its flow: problems, with their paths.

        `deliveries`: per `deliver:` entry, its connector's name (None: unknown) and options;
        `settings`: the trigger system's settings (unused here)."""
        if not self.bulk:
            return []
        problems: list[Problem] = []
        problems += bulk_flow_problems(flow, deliveries)
        return problems
