"""Column values to JSON (for message bodies) and cursor values to and from the hub's store."""

from __future__ import annotations

import base64
import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from interlace.types import JSON

_PLAIN = (str, int, float, bool, type(None))


def _decimal(value: Decimal) -> JSON:
    as_float = float(value)
    if Decimal(repr(as_float)) == value:
        return as_float
    return format(value, "f")  # positional, as a database shows it: str() may write 1.2E-8


_BY_TYPE: dict[type, Any] = {
    datetime: datetime.isoformat, date: date.isoformat, time: time.isoformat, Decimal: _decimal,
    uuid.UUID: str,
}  # fmt: skip


def to_json(value: Any) -> JSON:
    """A JSON-compatible form of a value read from a database.

    Dates and times become ISO 8601 strings; a decimal becomes a number when a float holds it
    exactly, otherwise a string (never a silently rounded number); bytes become base64.
    """
    convert = _BY_TYPE.get(type(value))
    if convert is not None:
        return convert(value)
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return _decimal(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return str(value)


_PLAIN_TYPES = frozenset(_PLAIN)


def row_to_json(row: dict[str, Any]) -> dict[str, JSON]:
    return {k: v if type(v) in _PLAIN_TYPES else to_json(v) for k, v in row.items()}


def rows_to_json(rows: list[dict[str, Any]]) -> list[dict[str, JSON]]:
    """`row_to_json` of each row, in place (the rows are fresh dicts from a fetch)."""
    plain = _PLAIN_TYPES
    for row in rows:
        for k, v in row.items():
            if type(v) not in plain:
                row[k] = to_json(v)
    return rows


def encode_cursor(value: Any) -> JSON:
    """A cursor value as JSON that `decode_cursor` turns back into the same Python type,
    so it binds to the cursor column's type again after a restart."""
    if isinstance(value, bool) or value is None or isinstance(value, int | float | str):
        return value
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if isinstance(value, Decimal):
        return {"decimal": str(value)}
    if isinstance(value, uuid.UUID):
        return {"uuid": str(value)}
    if isinstance(value, list | tuple):
        return [encode_cursor(v) for v in value]
    raise TypeError(f"cannot use a {type(value).__name__} as a cursor value")


def decode_cursor(value: JSON) -> Any:
    if isinstance(value, list):
        return [decode_cursor(v) for v in value]
    if isinstance(value, dict) and len(value) == 1:
        ((tag, text),) = value.items()
        if tag == "datetime":
            return datetime.fromisoformat(text)
        if tag == "date":
            return date.fromisoformat(text)
        if tag == "decimal":
            return Decimal(text)
        if tag == "uuid":
            return uuid.UUID(text)
    return value
