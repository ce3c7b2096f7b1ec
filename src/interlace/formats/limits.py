"""What every decoded value must respect, whatever format it came from.

A decoder hands the hub values that the engine, the mapping language, the schema validator and
the store all walk recursively; a value nested a thousand levels deep crashes one of them far
from the door (RecursionError), and a NaN or an infinity passes a JSON Schema `number` and then
fails a later step. So every decoder refuses, at the door and with a position:
- nesting deeper than `MAX_DEPTH` containers (objects, lists, XML elements inside a record);
- numbers that are not finite (NaN, Infinity, `1e400`);
- integers outside the 64-bit range (most systems and JSON parsers cannot hold them exactly:
  send such an identifier as a string).
Flat formats (CSV, fixed-width, copybook) have a depth fixed by their layout.
"""

from __future__ import annotations

import math
from typing import Any

MAX_DEPTH = 64
"""The deepest nesting accepted in a record or a webhook body: 64 objects/lists inside each other."""

MAX_LINE = 64 << 20
"""The longest line a line-framed format (JSON Lines, CSV, fixed-width, copybook lines) reads: a file
with no newline for gigabytes is refused before it is held in memory whole."""

INT_MIN = -(1 << 63)
INT_MAX = (1 << 64) - 1


class ValueRefused(ValueError):
    """A decoded value breaks one of the limits above; `reason` says which."""

    def __init__(self, reason: str, *, too_deep: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.too_deep = too_deep


def value_problem(value: Any, max_depth: int = MAX_DEPTH) -> ValueRefused | None:
    """The first limit `value` breaks, or None. Iterative, so it never recurses itself."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            problem = _scalar_problem(item)
            if problem is not None:
                return ValueRefused(problem)
            continue
        depth += 1
        if depth > max_depth:
            return ValueRefused(f"nested deeper than {max_depth} levels", too_deep=True)
        for child in children:
            if isinstance(child, dict | list):
                stack.append((child, depth))
            elif (problem := _scalar_problem(child)) is not None:
                return ValueRefused(problem)
    return None


def _scalar_problem(item: Any) -> str | None:
    if isinstance(item, float):
        if not math.isfinite(item):
            return f"{item} is not a finite number"
    elif isinstance(item, int) and not isinstance(item, bool) and not INT_MIN <= item <= INT_MAX:
        return "an integer outside the 64-bit range (send it as a string)"
    return None


def check_value(value: Any, max_depth: int = MAX_DEPTH) -> None:
    """Raise `ValueRefused` if `value` breaks a limit."""
    problem = value_problem(value, max_depth)
    if problem is not None:
        raise problem


def depth_offset(text: bytes, max_depth: int) -> int | None:
    """The byte offset in JSON `text` where nesting first goes past `max_depth` (skipping strings),
    or None. Only run once a value is already refused, to say where."""
    depth = 0
    in_string = escaped = False
    for index, byte in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > max_depth:
                return index
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return None
