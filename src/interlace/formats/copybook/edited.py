"""Numeric-edited pictures (`ZZ,ZZ9.99-`, `+9(6)V99`, `$$$,$$9.99CR`, `***9.99`): read as numbers,
written as COBOL's editing rules print them.

A picture becomes one `Slot` per printed character. Digit slots are `9`, `Z`, `*` and the
positions of a floating insertion string (`++9`, `---9`, `$$$9`) after its first one; the first
position of a floating string only ever holds the sign or currency symbol. Reading goes slot by
slot: a blank, `*` or the floating symbol in a digit slot is a suppressed zero, the sign comes from
`+`/`-`/`CR`/`DB` wherever the picture puts it. Writing suppresses leading zeros up to the first
nonzero digit, a `9` or the decimal point, and puts a floating symbol just left of the first digit
shown. The decimal point is `.` (DECIMAL-POINT IS COMMA is not supported).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["digit", "zero", "check", "float", "lead", "sign", "crdb", "currency", "insert", "point"]
_DIGIT_KINDS = frozenset(("digit", "zero", "check", "float"))
_SUPPRESSIBLE = frozenset(("zero", "check", "float", "lead", "insert"))


class EditError(ValueError):
    """Text that the edited picture cannot have printed, or a value it cannot print."""


@dataclass(frozen=True, slots=True)
class Slot:
    kind: Kind
    symbol: str


@dataclass(frozen=True, slots=True)
class Edited:
    slots: tuple[Slot, ...]
    digits: int
    scale: int
    signed: bool
    check: bool
    """Check protection (`*`): suppressed positions print `*`, not blanks."""

    @property
    def length(self) -> int:
        return len(self.slots)


def is_edited(full: str) -> bool:
    """Whether an expanded picture is numeric-edited (digits with editing symbols)."""
    if not any(c in full for c in "9Z*") and not any(full.count(c) > 1 for c in "+-$"):
        return False
    rest = full.replace("CR", "").replace("DB", "")
    return set(rest) <= set("9ZV*+-$B0/,.")


def parse_edited(full: str) -> Edited:
    """The slots of an expanded numeric-edited picture; ValueError for what is not one."""
    symbols: list[str] = []
    point_at: int | None = None
    i = 0
    while i < len(full):
        pair = full[i : i + 2]
        if pair in ("CR", "DB"):
            symbols += [pair, pair]
            i += 2
            continue
        char = full[i]
        if char == "V":
            if point_at is not None:
                raise ValueError("more than one decimal point")
            point_at = len(symbols)
        else:
            if char == "." and point_at is not None:
                raise ValueError("more than one decimal point")
            if char == ".":
                point_at = len(symbols)
            symbols.append(char)
        i += 1
    floating = {s for s in "+-$" if symbols.count(s) > 1}
    if len(floating) > 1:
        raise ValueError("more than one floating insertion symbol")
    slots: list[Slot] = []
    seen_float = False
    for symbol in symbols:
        if symbol == "9":
            slots.append(Slot("digit", symbol))
        elif symbol == "Z":
            slots.append(Slot("zero", symbol))
        elif symbol == "*":
            slots.append(Slot("check", symbol))
        elif symbol in floating:
            slots.append(Slot("float" if seen_float else "lead", symbol))
            seen_float = True
        elif symbol in "+-":
            slots.append(Slot("sign", symbol))
        elif symbol in ("CR", "DB"):
            slots.append(Slot("crdb", symbol))
        elif symbol == "$":
            slots.append(Slot("currency", symbol))
        elif symbol == ".":
            slots.append(Slot("point", symbol))
        else:
            slots.append(Slot("insert", symbol))
    digit_slots = [n for n, s in enumerate(slots) if s.kind in _DIGIT_KINDS]
    if not digit_slots:
        raise ValueError("an edited picture needs digit positions")
    scale = 0 if point_at is None else sum(1 for n in digit_slots if n >= point_at)
    signed = any(s.kind in ("sign", "crdb") or (s.kind in ("float", "lead") and s.symbol in "+-") for s in slots)
    return Edited(tuple(slots), len(digit_slots), scale, signed, any(s.kind == "check" for s in slots))


def read_edited(text: str, pic: Edited) -> int:
    """The printed text as an integer count of the picture's smallest unit (scale applied later)."""
    if len(text) != pic.length:
        raise EditError(f"{text!r} is not {pic.length} characters long")
    digits: list[str] = []
    negative = False
    credit = ""
    for slot, char in zip(pic.slots, text, strict=True):
        kind = slot.kind
        if kind in _DIGIT_KINDS:
            if "0" <= char <= "9":
                digits.append(char)
            elif char == " " or (char == "*" and pic.check):
                digits.append("0")
            elif kind == "float" and _floating(slot.symbol, char):
                digits.append("0")
                negative = negative or char == "-"
            else:
                raise EditError(f"{text!r}: {char!r} where the picture has a digit")
        elif kind == "lead":
            if _floating(slot.symbol, char):
                negative = negative or char == "-"
            elif not (char == " " or (char == "*" and pic.check)):
                raise EditError(f"{text!r}: {char!r} where the picture has {slot.symbol}")
        elif kind == "sign":
            if char == "-":
                negative = True
            elif not (char == "+" or (char == " " and slot.symbol == "-")):
                raise EditError(f"{text!r}: {char!r} is not a sign")
        elif kind == "crdb":
            credit += char
        elif kind == "currency":
            if char != "$":
                raise EditError(f"{text!r}: {char!r} where the picture has $")
        elif not (char == _printed(slot) or char == " " or (char == "*" and pic.check)):
            raise EditError(f"{text!r}: {char!r} where the picture has {slot.symbol!r}")
    if credit:
        expected = next(s.symbol for s in pic.slots if s.kind == "crdb")
        if credit == expected:
            negative = True
        elif credit.strip():
            raise EditError(f"{text!r}: {credit!r} is neither {expected} nor blank")
    number = int("".join(digits))
    return -number if negative else number


def _floating(symbol: str, char: str) -> bool:
    return char == symbol or (symbol == "+" and char == "-")


def _printed(slot: Slot) -> str:
    return " " if slot.symbol == "B" else slot.symbol


def write_edited(number: int, pic: Edited, blank_when_zero: bool = False) -> str:
    """Print an integer count of the smallest unit through the picture (it must fit)."""
    negative = number < 0
    shown = str(abs(number))
    if len(shown) > pic.digits:
        raise EditError(f"has more than {pic.digits} digits")
    if negative and not pic.signed:
        raise EditError("is negative but the picture has no sign")
    fill = "*" if pic.check else " "
    if number == 0 and (blank_when_zero or not any(s.kind == "digit" for s in pic.slots)):
        if pic.check:
            return "".join("." if s.kind == "point" else "*" for s in pic.slots)
        return " " * pic.length
    digits = iter(shown.zfill(pic.digits))
    out: list[str] = []
    digit_of: dict[int, str] = {}
    for n, slot in enumerate(pic.slots):
        if slot.kind in _DIGIT_KINDS:
            digit_of[n] = next(digits)
    first = len(pic.slots)
    for n, slot in enumerate(pic.slots):
        if (
            slot.kind == "digit"
            or (slot.kind in _DIGIT_KINDS and digit_of[n] != "0")
            or (slot.kind == "point" and number != 0)
        ):
            first = n
            break
    floating = [n for n, s in enumerate(pic.slots) if s.kind in ("lead", "float") and n < first]
    symbol_at = floating[-1] if floating else None
    for n, slot in enumerate(pic.slots):
        kind = slot.kind
        if n == symbol_at:
            out.append(_sign_char(slot.symbol, negative))
        elif n < first and kind in _SUPPRESSIBLE:
            out.append(" " if kind in ("float", "lead") else fill)
        elif kind in _DIGIT_KINDS:
            out.append(digit_of[n])
        elif kind == "lead" or kind == "sign":
            out.append(_sign_char(slot.symbol, negative))
        elif kind == "crdb":
            out.append(slot.symbol[len(out) - _first_crdb(pic)] if negative else " ")
        else:
            out.append(_printed(slot))
    return "".join(out)


def _first_crdb(pic: Edited) -> int:
    return next(n for n, s in enumerate(pic.slots) if s.kind == "crdb")


def _sign_char(symbol: str, negative: bool) -> str:
    if symbol == "+":
        return "-" if negative else "+"
    if symbol == "-":
        return "-" if negative else " "
    return symbol
