"""PIC clauses: `X(10)`, `S9(7)V99`, `9(3)`, `A(5)`, P scaling (`PPP9(5)`, `9(5)PPP`), an explicit
point (`S9(3).99`), numeric-edited pictures (`ZZ,ZZ9.99-`, `+9(6)V99`) and alphanumeric-edited
ones (`XXBXX`, `99/99/99` with X)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Literal

from interlace.formats.copybook.edited import Edited, is_edited, parse_edited

_REPEAT = re.compile(r"(.)\((\d+)\)")
_NUMERIC = re.compile(r"S?9*V?9*")
_EXPLICIT_POINT = re.compile(r"S?(9*)\.(9+)")
_LEADING_P = re.compile(r"S?V?(P+)(9+)")
_TRAILING_P = re.compile(r"S?(9+)(P+)V?")
MAX_DIGITS = 38

Kind = Literal["alphanumeric", "numeric", "edited", "float"]


@dataclass(frozen=True, slots=True)
class Picture:
    """What a PIC clause (or a COMP-1/COMP-2 usage, which has none) says about storage and value."""

    text: str
    kind: Kind
    """`numeric`: zoned, binary or packed digits; `edited`: numeric-edited, read and written as a
    number through `edit`; `float`: COMP-1/COMP-2; `alphanumeric`: text (X, A and X-edited)."""
    length: int
    """Characters of DISPLAY storage (without a separate sign; with an explicit point)."""
    digits: int = 0
    scale: int = 0
    """Decimal places of the value: digits after V (or the point), plus leading P positions;
    negative for trailing P (`9(3)PP` holds hundreds)."""
    signed: bool = False
    point: int | None = None
    """An explicit `.` in a numeric DISPLAY picture (`S9(3).99`): digits before it."""
    edit: Edited | None = None

    def with_sign(self) -> Picture:
        """The same picture made signed (a SIGN clause on a PIC without S)."""
        return replace(self, signed=True)


def expand(text: str) -> str:
    """`9(3)V9(2)` -> `999V99`."""
    return _REPEAT.sub(lambda m: m.group(1) * int(m.group(2)), text)


def float_picture(usage: str) -> Picture:
    """The storage of a COMP-1 (4 bytes) or COMP-2 (8 bytes) item."""
    return Picture(usage.upper(), "float", 4 if usage == "float" else 8, signed=True)


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
    if ("X" in full or "A" in full) and set(full) <= set("XA9B0/"):
        return Picture(text, "alphanumeric", len(full))  # alphanumeric-edited: text as printed
    signed = full.startswith("S")
    if _NUMERIC.fullmatch(full) and "9" in full:
        integer, _, fraction = full.lstrip("S").partition("V")
        return _numeric(text, len(integer) + len(fraction), len(fraction), signed)
    if match := _EXPLICIT_POINT.fullmatch(full):
        integer, fraction = match.group(1), match.group(2)
        picture = _numeric(text, len(integer) + len(fraction), len(fraction), signed)
        return replace(picture, length=picture.length + 1, point=len(integer))
    if "P" in full:
        if match := _LEADING_P.fullmatch(full):
            digits = len(match.group(2))
            return _numeric(text, digits, len(match.group(1)) + digits, signed)
        if match := _TRAILING_P.fullmatch(full):
            return _numeric(text, len(match.group(1)), -len(match.group(2)), signed)
        raise ValueError(f"PIC {text}: P must lead (PPP999, VPP99) or trail (999PP) the digits")
    if "S" in full:
        raise ValueError(f"PIC {text}: S cannot be used with editing symbols")
    if not is_edited(full):
        raise ValueError(f"PIC {text}: not a picture this codec reads")
    try:
        edit = parse_edited(full)
    except ValueError as exc:
        raise ValueError(f"PIC {text}: {exc}") from None
    if edit.digits > MAX_DIGITS:
        raise ValueError(f"PIC {text}: more than {MAX_DIGITS} digits")
    return Picture(text, "edited", edit.length, edit.digits, edit.scale, edit.signed, edit=edit)


def _numeric(text: str, digits: int, scale: int, signed: bool) -> Picture:
    if digits > MAX_DIGITS:
        raise ValueError(f"PIC {text}: more than {MAX_DIGITS} digits")
    return Picture(text, "numeric", digits, digits, scale, signed)
