"""VALUE literals: level-88 conditions, and what a FILLER or unset item with a VALUE holds."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from interlace.formats.copybook.model import Condition, Item

_FIGURATIVE_CHARS = {"SPACES": " ", "LOW-VALUES": "\x00", "HIGH-VALUES": "\xff", "QUOTES": '"'}


def figurative_text(name: str, size: int) -> str:
    return _FIGURATIVE_CHARS[name] * size


def literal_value(item: Item) -> Any:
    """The value an item's VALUE clause gives it, as a record value would be."""
    value = item.value
    numeric = item.picture is not None and item.picture.kind == "numeric"
    if value in _FIGURATIVE_CHARS:
        return None if numeric else figurative_text(str(value), item.size)
    if value == "ZEROS":
        return 0 if numeric else "0" * item.size
    return value


def condition_holds(condition: Condition, value: Any) -> bool:
    """Whether a level-88 condition is true for a decoded value (ranges are inclusive)."""
    for low, high in condition.values:
        if isinstance(value, str):
            if _as_text(low, value) <= value.rstrip(" ") <= _as_text(high, value):
                return True
        elif isinstance(value, int | Decimal):
            try:
                if _as_number(low) <= value <= _as_number(high):
                    return True
            except ValueError:
                continue
    return False


def _as_text(literal: Any, value: str) -> str:
    if literal == "ZEROS":
        return "0" * len(value)
    if literal in _FIGURATIVE_CHARS:
        return figurative_text(literal, len(value)).rstrip(" ")
    return str(literal).rstrip(" ")


def _as_number(literal: Any) -> Decimal:
    if literal == "ZEROS":
        return Decimal(0)
    if isinstance(literal, int | Decimal):
        return Decimal(literal)
    raise ValueError(f"{literal!r} is not a number")
