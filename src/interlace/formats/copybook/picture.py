"""PIC clauses: `X(10)`, `S9(7)V99`, `9(3)`, `A(5)`, edited pictures such as `ZZ,ZZ9.99-`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

_REPEAT = re.compile(r"(.)\((\d+)\)")
_NUMERIC = re.compile(r"S?9*V?9*")


@dataclass(frozen=True, slots=True)
class Picture:
    """What a PIC clause says about storage and value."""

    text: str
    kind: Literal["alphanumeric", "numeric", "edited"]
    """`edited` pictures (Z, comma, point, CR ...) are read and written as text of their length."""
    length: int
    """Characters of DISPLAY storage (digits for numeric, without a separate sign)."""
    digits: int = 0
    scale: int = 0
    """Implied decimal digits: the digits after V."""
    signed: bool = False


def expand(text: str) -> str:
    """`9(3)V9(2)` -> `999V99`."""
    return _REPEAT.sub(lambda m: m.group(1) * int(m.group(2)), text)


def parse_picture(text: str) -> Picture:
    """Read a PIC string; raises ValueError for what this codec cannot represent."""
    upper = text.upper()
    full = expand(upper)
    if "(" in full or ")" in full:
        raise ValueError(f"PIC {text}: unbalanced repetition")
    if not full:
        raise ValueError("empty PIC")
    if set(full) <= {"X", "A"}:
        return Picture(text, "alphanumeric", len(full))
    if _NUMERIC.fullmatch(full) and "9" in full:
        if "P" in full:
            raise ValueError(f"PIC {text}: P scaling is not supported")
        integer, _, fraction = full.lstrip("S").partition("V")
        digits = len(integer) + len(fraction)
        if digits > 38:
            raise ValueError(f"PIC {text}: more than 38 digits")
        return Picture(text, "numeric", digits, digits, len(fraction), full.startswith("S"))
    if "P" in full:
        raise ValueError(f"PIC {text}: P scaling is not supported")
    # Numeric-edited (Z,9 . , + - CR DB * $ B 0 /): kept as text of its printed length.
    length = len(full.replace("V", "").replace("S", ""))
    return Picture(text, "edited", length)
