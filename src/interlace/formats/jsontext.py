"""JSON text to a value, within the limits of `limits.py`: the one JSON decoder of the doors
(JSON Lines records, webhook bodies).

orjson does the parsing. What it does on its own: it refuses `NaN`, `Infinity` and numbers that
overflow a double (`1e400`), and nesting past 1024 levels. What it does not, and is checked here:
nesting between `max_depth` and 1024, and integers past 64 bits, which orjson silently turns into
floats (123456789012345678901234567890 would arrive as 1.2345678901234568e+29).
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson

from interlace.formats.limits import INT_MAX, INT_MIN, MAX_DEPTH, depth_offset, value_problem


class JsonRefused(ValueError):
    """Not JSON (`limit` False), or JSON past a limit (`limit` True: too deep, a number that is not
    finite or an integer past 64 bits). `offset` is the byte where it went wrong, when known."""

    def __init__(self, reason: str, *, offset: int | None = None, too_deep: bool = False, limit: bool = False) -> None:
        self.reason = reason
        self.offset = offset
        self.too_deep = too_deep
        self.limit = limit or too_deep
        super().__init__(reason if offset is None else f"{reason} (at byte {offset})")


def loads(data: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """The value of JSON `data`; raises `JsonRefused` naming the problem and, if it can, the byte."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        reason = exc.msg
        if "depth" in reason or "recursion" in reason:  # orjson stops at 1024 levels
            raise JsonRefused(
                f"nested deeper than {max_depth} levels", offset=depth_offset(raw, max_depth), too_deep=True
            ) from None
        offset = None
        if isinstance(exc.pos, int):  # a character index: count the bytes before it
            offset = len(raw.decode("utf-8", "replace")[: exc.pos].encode("utf-8", "surrogatepass"))
        if "infinity" in reason:  # 1e400: JSON syntax, but no double holds it
            raise JsonRefused(f"a number too large for a double: {reason}", offset=offset, limit=True) from None
        raise JsonRefused(f"not JSON: {reason}", offset=offset) from None
    # What orjson gives is finite and within 64 bits, or a float standing for a longer integer;
    # the walks below look for depth and for such floats only where the bytes allow them (a text
    # with fewer brackets than the limit cannot nest past it): most bodies need neither walk.
    if raw.count(b"[") + raw.count(b"{") > max_depth:
        problem = value_problem(value, max_depth)
        if problem is not None:
            offset = depth_offset(raw, max_depth) if problem.too_deep else None
            raise JsonRefused(problem.reason, offset=offset, too_deep=problem.too_deep, limit=True)
    if _maybe_wide(raw) and _has_wide_float(value):
        _check_exact_integers(raw)
    return value


_SHAPES = bytes(0x30 if 0x30 <= i <= 0x39 else 0x65 if i in (0x45, 0x65) else 0x20 for i in range(256))


def _maybe_wide(raw: bytes) -> bool:
    """Whether `raw` has what a float of 2**63 or more is written with: 19 digits in a row, or an
    exponent (which JSON writes right after a digit)."""
    shapes = raw.translate(_SHAPES)
    return b"0000000000000000000" in shapes or b"0e" in shapes


def _has_wide_float(value: Any) -> bool:
    """Whether a float as big as 2**63 and whole is in `value`: it may have been a long integer."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, float) and abs(item) >= 2.0**63 and math.isfinite(item) and item.is_integer():
            return True
    return False


def _wide_int(text: str) -> int:
    number = int(text)
    if not INT_MIN <= number <= INT_MAX:
        raise JsonRefused("an integer outside the 64-bit range (send it as a string)", limit=True)
    return number


def _check_exact_integers(raw: bytes) -> None:
    """Parse again, exactly, to tell `1e19` (a float, fine) from `10000000000000000000000` (refused).
    Only on the rare value holding a huge whole float; its depth is already known to be small."""
    try:
        json.loads(raw, parse_int=_wide_int)
    except JsonRefused:
        raise
    except ValueError as exc:  # orjson took it, so this is the int digit limit of the stdlib
        raise JsonRefused(f"not JSON: {exc}") from None
