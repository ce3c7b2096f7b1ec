"""Regular expressions: JavaScript's syntax read by Python's `re`, and the matcher functions
JSONata makes of them (`/ab+/i` evaluates to a function returning {match, start, end, groups, next})."""

from __future__ import annotations

import re
from typing import Any

from interlace.mapping.compiler.errors import JsonataError, Unsupported
from interlace.mapping.compiler.runtime import Function, State, U, collapse

_CLASS_ESCAPES = {"d": "0-9", "w": "A-Za-z0-9_"}
_ESCAPES = {"d": "[0-9]", "D": "[^0-9]", "w": "[A-Za-z0-9_]", "W": "[^A-Za-z0-9_]"}


def translate(pattern: str, multiline: bool) -> str:
    """A JavaScript pattern in Python's syntax; Unsupported for what the two read differently."""
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    while i < n:
        ch = pattern[i]
        if ch == "\\" and i + 1 < n:
            esc = pattern[i + 1]
            if esc == "k" and pattern.startswith("<", i + 2):
                end = pattern.index(">", i + 3)
                out.append(f"(?P={pattern[i + 3 : end]})")
                i = end + 1
                continue
            if in_class and esc in _CLASS_ESCAPES:
                out.append(_CLASS_ESCAPES[esc])
            elif not in_class and esc in _ESCAPES:
                out.append(_ESCAPES[esc])
            elif esc in "cpPu" and not (esc == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", pattern[i + 2 : i + 6])):
                raise Unsupported("a regular expression escape Python reads differently")
            elif esc == "/":
                out.append("/")
            else:
                out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
            elif ch == "[":
                out.append("\\[")
                i += 1
                continue
            out.append(ch)
        elif ch == "[":
            if pattern.startswith("[^]", i) or pattern.startswith("[]", i):
                raise Unsupported("a regular expression class Python reads differently")
            in_class = True
            out.append(ch)
        elif ch == "(" and pattern.startswith("(?<", i) and not pattern.startswith(("(?<=", "(?<!"), i):
            out.append("(?P<")
            i += 3
            continue
        elif ch == "$" and not multiline:
            out.append(r"\Z")
        else:
            out.append(ch)
        i += 1
    return "".join(out)


class Regex(Function):
    """A regular expression as JSONata's matcher function."""

    __slots__ = ("pattern", "source")

    def __init__(self, source: str, flags: str, position: int) -> None:
        super().__init__("regex", self._call, 1)
        multiline = "m" in flags
        try:
            self.pattern = re.compile(
                translate(source, multiline),
                (re.IGNORECASE if "i" in flags else 0) | (re.MULTILINE if multiline else 0),
            )
        except re.error:
            raise Unsupported("a regular expression Python cannot read", position) from None
        self.source = source

    def _call(self, args: list[Any], context: Any, state: State | None) -> Any:
        text = args[0] if args else U
        if type(text) is not str:
            return U
        return self.match(text, 0)

    def match(self, text: str, start: int) -> Any:
        m = self.pattern.search(text, start)
        if m is None:
            return U
        end = m.end()

        def following(args: list[Any], context: Any, state: State | None) -> Any:
            if end >= len(text):
                return U
            nxt = self.match(text, end)
            if nxt is not U and nxt["match"] == "":
                raise JsonataError("D1004", f"Regular expression matches zero length string: {self.source}")
            return nxt

        return {
            "match": m.group(0),
            "start": m.start(),
            "end": end,
            "groups": [g if g is not None else "" for g in m.groups()],
            "next": Function("next", following, 0),
        }


def matches(matcher: Any, text: str, state: Any) -> Any:
    """The first match of a matcher function (a regex, or a lambda returning match objects)."""
    if not isinstance(matcher, Function):
        raise JsonataError(
            "T1010", "The matcher function argument passed to function does not return the correct object structure"
        )
    result = collapse(matcher.call([text], U, state))
    return _checked(result)


def following(match: Any, state: Any) -> Any:
    nxt = match.get("next")
    if not isinstance(nxt, Function):
        return U
    return _checked(collapse(nxt.call([], U, state)))


def _checked(result: Any) -> Any:
    if result is U:
        return U
    if type(result) is not dict or not ("start" in result or "end" in result or "groups" in result or "next" in result):
        raise JsonataError(
            "T1010", "The matcher function argument passed to function does not return the correct object structure"
        )
    return result
