"""What a table looks like: columns, their type family, nullability, and the primary key."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Family = Literal[
    "int",
    "float",
    "decimal",
    "bool",
    "date",
    "datetime",
    "datetime_tz",
    "time",
    "json",
    "text",
    "bytes",
    "uuid",
    "other",
]
"""How a JSON value is turned into a value for a column (see `coerce.py`)."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    """The type as the database names it (`integer`, `varchar(20)`, `TEXT`)."""
    family: Family
    nullable: bool = True
    has_default: bool = False

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "type": self.type, "nullable": self.nullable, "default": self.has_default}


@dataclass(frozen=True)
class Table:
    name: str
    columns: list[Column]
    primary_key: list[str] = field(default_factory=list)

    def column(self, name: str) -> Column | None:
        for col in self.columns:
            if col.name == name:
                return col
        return None

    @property
    def by_name(self) -> dict[str, Column]:
        return {c.name: c for c in self.columns}

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "primary_key": self.primary_key,
            "columns": [c.as_dict() for c in self.columns],
        }


def column_warnings(table: Table, written: list[str]) -> list[str]:
    """What `interlace validate` says about a mapping that writes `written` into `table`:
    columns that do not exist, and NOT NULL columns without a default that it omits."""
    columns = table.by_name
    out = [f"table {table.name!r} has no column {name!r}" for name in written if name not in columns]
    out += [
        f"column {c.name!r} of {table.name!r} is NOT NULL without a default, and the mapping omits it"
        for c in table.columns
        if not c.nullable and not c.has_default and c.name not in written
    ]
    return out
