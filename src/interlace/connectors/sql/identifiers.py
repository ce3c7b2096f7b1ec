"""Table and column names from config or message bodies: validated, then quoted.

Values always travel as bound parameters; names cannot, so they must match a strict pattern
before they are ever placed in a statement.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


class BadIdentifier(ValueError):
    """A name that may not be used as a table or column name."""


def check_name(name: str) -> str:
    """`name` unchanged if it is a plain SQL name (letters, digits, underscore; not leading digit)."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise BadIdentifier(
            f"{name!r} is not a valid SQL name (letters, digits and _, not starting with a digit, "
            "at most 63 characters)"
        )
    return name


def check_table(name: str) -> str:
    """A table name, optionally qualified by one schema: `orders` or `sales.orders`."""
    parts = name.split(".") if isinstance(name, str) else [name]
    if len(parts) > 2:
        raise BadIdentifier(f"{name!r} is not a valid table name (at most schema.table)")
    for part in parts:
        check_name(part)
    return name


def quote(name: str, quote_char: str) -> str:
    """The quoted form of a validated (possibly schema-qualified) name."""
    check_table(name)
    return ".".join(f"{quote_char}{part}{quote_char}" for part in name.split("."))


Name = Annotated[str, AfterValidator(check_name)]
TableName = Annotated[str, AfterValidator(check_table)]
