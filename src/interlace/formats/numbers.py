"""The one grammar of numbers in fixed layouts (fixed-width fields, copybook DISPLAY items).

Python's `int()` and `Decimal()` take more than a record layout means by a number: `1_000000`,
`١٢` (Arabic-Indic digits), `\\t12`, `1e5`, `NaN`, `Infinity`. A field holds ASCII digits, an
optional sign (before the digits, or after them as mainframe reports print it) and, in a decimal
field, an optional point; blanks around it are the caller's to strip. Everything else is refused.
"""

from __future__ import annotations

import re
from decimal import Decimal

DIGITS = re.compile(rb"[0-9]+")
"""Unsigned ASCII digits (a zoned or DISPLAY item once its sign is read)."""
INTEGER = re.compile(r"[+-]?[0-9]+|[0-9]+[+-]")
DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)|(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[+-]")


class NotANumber(ValueError):
    """Text that is not a number of the layout's grammar."""


def _signed_first(text: str) -> str:
    return text[-1] + text[:-1] if text[-1] in "+-" else text


def parse_int(text: str) -> int:
    """`-12`, `+12`, `12-` (sign after) as an int; NotANumber for anything else."""
    if not INTEGER.fullmatch(text):
        raise NotANumber(f"{text!r} is not an integer (digits, with a sign before or after)")
    return int(_signed_first(text))


def parse_decimal(text: str) -> Decimal:
    """`-12.30`, `12.30-`, `.5`, `12` as a Decimal; NotANumber for anything else."""
    if not DECIMAL.fullmatch(text):
        raise NotANumber(f"{text!r} is not a decimal number (digits, an optional point and sign)")
    return Decimal(_signed_first(text))
