"""JSON values to column values: dates, decimals, booleans, JSON columns.

A value that cannot be stored raises `ValueNotStorable`, naming the column (and, once the sink
knows it, the row key), before the database is asked: one bad row never fails its batch.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from interlace.connectors.sql.schema import Column, Family
from interlace.errors import DeliveryError

Coercer = Callable[[Any], Any]


class ValueNotStorable(DeliveryError):
    """A body value that the target column cannot hold. Not retryable: the data must change."""

    def __init__(self, column: str, type_: str, value: Any, reason: str, key: str | None = None) -> None:
        self.column = column
        self.type = type_
        self.value = value
        self.reason = reason
        self.key = key
        shown = repr(value)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        where = f"row key {key!r}: " if key is not None else ""
        super().__init__(f"{where}column {column!r} ({type_}) cannot store {shown}: {reason}", retryable=False)

    def for_key(self, key: str) -> ValueNotStorable:
        return ValueNotStorable(self.column, self.type, self.value, self.reason, key)


class _Refused(ValueError):
    pass


_TRUE = {"true", "t", "yes", "y", "1", "on"}
_FALSE = {"false", "f", "no", "n", "0", "off"}


def _int(v: Any) -> int:
    if isinstance(v, bool):
        raise _Refused("a boolean is not an integer")
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        if v.is_integer():
            return int(v)
        raise _Refused("has a fractional part")
    if isinstance(v, str):
        try:
            return int(v)  # the common case: plain digits
        except ValueError:
            pass
        try:
            d = Decimal(v.strip())
        except InvalidOperation:
            raise _Refused("not an integer") from None
        if d.is_finite() and d == d.to_integral_value():
            return int(d)
        raise _Refused("not an integer")
    raise _Refused(f"a {type(v).__name__} is not an integer")


def _float(v: Any) -> float:
    if isinstance(v, bool):
        raise _Refused("a boolean is not a number")
    if isinstance(v, int | float):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v.strip())
        except ValueError:
            raise _Refused("not a number") from None
    raise _Refused(f"a {type(v).__name__} is not a number")


def _decimal(v: Any) -> Decimal:
    if type(v) is float:
        return Decimal(repr(v))  # the decimal the JSON number was written as, not the float's binary value
    if isinstance(v, bool):
        raise _Refused("a boolean is not a number")
    if isinstance(v, Decimal):
        return v
    if isinstance(v, int | float | str):
        try:
            d = Decimal(repr(v) if isinstance(v, float) else str(v).strip())
        except InvalidOperation:
            raise _Refused("not a decimal number") from None
        if not d.is_finite():
            raise _Refused("not a finite number")
        return d
    raise _Refused(f"a {type(v).__name__} is not a number")


def _bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, int) and v in (0, 1):
        return bool(v)
    if isinstance(v, str) and v.strip().lower() in _TRUE | _FALSE:
        return v.strip().lower() in _TRUE
    raise _Refused("not a boolean (true/false, 1/0, yes/no)")


def _parse_datetime(v: Any) -> datetime:
    if type(v) is str:
        try:
            return datetime.fromisoformat(v)  # the common case: ISO 8601, as `to_json` writes it
        except ValueError:
            text = v.strip()
            try:
                return datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
            except ValueError:
                raise _Refused("not an ISO 8601 date-time") from None
    if isinstance(v, datetime):
        return v
    if isinstance(v, int | float) and not isinstance(v, bool):
        return datetime.fromtimestamp(v, UTC)
    raise _Refused(f"a {type(v).__name__} is not a date-time")


def _datetime_naive(v: Any) -> datetime:
    d = _parse_datetime(v)
    return d.astimezone(UTC).replace(tzinfo=None) if d.tzinfo is not None else d


def _datetime_tz(v: Any) -> datetime:
    if type(v) is str:
        try:
            d = datetime.fromisoformat(v)
        except ValueError:
            d = _parse_datetime(v)
    else:
        d = _parse_datetime(v)
    return d if d.tzinfo is not None else d.replace(tzinfo=UTC)


def _date(v: Any) -> date:
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    if isinstance(v, str):
        text = v.strip()
        try:
            return date.fromisoformat(text) if len(text) == 10 else _parse_datetime(text).date()
        except ValueError:
            raise _Refused("not an ISO 8601 date") from None
    raise _Refused(f"a {type(v).__name__} is not a date")


def _time(v: Any) -> time:
    if isinstance(v, time):
        return v
    if isinstance(v, str):
        try:
            return time.fromisoformat(v.strip())
        except ValueError:
            raise _Refused("not an ISO 8601 time") from None
    raise _Refused(f"a {type(v).__name__} is not a time")


def _json(v: Any) -> str:
    try:
        return json.dumps(v, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise _Refused(str(exc)) from None


def _text(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float | Decimal):
        return str(v)
    if isinstance(v, dict | list):
        return _json(v)
    raise _Refused(f"a {type(v).__name__} is not text")


def _bytes(v: Any) -> bytes:
    if isinstance(v, bytes):
        return v
    if isinstance(v, str):
        try:
            return base64.b64decode(v, validate=True)
        except binascii.Error:
            raise _Refused("not base64") from None
    raise _Refused(f"a {type(v).__name__} is not base64 text")


def _uuid(v: Any) -> str:
    try:
        return str(uuid.UUID(str(v)))
    except ValueError:
        raise _Refused("not a UUID") from None


def _any(v: Any) -> Any:
    return _json(v) if isinstance(v, dict | list) else v


_COERCERS: dict[Family, Coercer] = {
    "int": _int,
    "float": _float,
    "decimal": _decimal,
    "bool": _bool,
    "date": _date,
    "datetime": _datetime_naive,
    "datetime_tz": _datetime_tz,
    "time": _time,
    "json": _json,
    "text": _text,
    "bytes": _bytes,
    "uuid": _uuid,
    "other": _any,
}
_FAST: dict[Family, tuple[type, ...]] = {
    "int": (int,), "float": (float,), "text": (str,), "bool": (bool,), "decimal": (Decimal,), "bytes": (bytes,),
}  # fmt: skip
"""Value types stored as they are, without a call."""


def fast_types(column: Column) -> tuple[type, ...]:
    """The value types that `column`'s coercer returns unchanged (callers may skip the call)."""
    return _FAST.get(column.family, ())


def coercer(column: Column) -> Coercer:
    """A function turning one JSON value into what `column` stores; raises `ValueNotStorable`."""
    convert = _COERCERS[column.family]
    fast = _FAST.get(column.family, ())
    name, type_, nullable = column.name, column.type, column.nullable

    def coerce(value: Any) -> Any:
        if type(value) in fast:
            return value
        if value is None:
            if not nullable:
                raise ValueNotStorable(name, type_, value, "the column is NOT NULL")
            return None
        try:
            return convert(value)
        except (_Refused, OverflowError, OSError) as exc:
            raise ValueNotStorable(name, type_, value, str(exc)) from None

    return coerce
