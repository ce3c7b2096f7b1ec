"""The JSONata tokenizer: text to (type, value, position) tokens, read one at a time by the parser.

The parser says whether an operand or an operator is expected next, because `/` starts a regex
in the first case and divides in the second.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from interlace.mapping.compiler.errors import JsonataError

OPERATORS: dict[str, int] = {
    ".": 75, "[": 80, "]": 0, "{": 70, "}": 0, "(": 80, ")": 0, ",": 0, "@": 80, "#": 80, ";": 80,
    ":": 80, "?": 20, "+": 50, "-": 50, "*": 60, "/": 60, "%": 60, "|": 20, "=": 40, "<": 40, ">": 40,
    "^": 40, "**": 60, "..": 20, ":=": 10, "!=": 40, "<=": 40, ">=": 40, "~>": 40, "?:": 40, "??": 40,
    "and": 30, "or": 25, "in": 40, "&": 50, "!": 0, "~": 0,
}  # fmt: skip
"""Each operator's binding power (how tightly it holds its operands)."""

_DOUBLE = {"..", ":=", "!=", ">=", "<=", "**", "~>", "?:", "??"}
_SINGLE = {op for op in OPERATORS if len(op) == 1}
_SPACE = " \t\n\r\v"
_NUMBER = re.compile(r"(0|[1-9][0-9]*)(\.[0-9]+)?([Ee][-+]?[0-9]+)?")
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


@dataclass
class Token:
    type: str  # operator, name, variable, string, number, value, regex
    value: Any
    position: int  # the offset just past the token, as jsonata-js reports it


class Tokenizer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def next(self, infix: bool) -> Token | None:
        text, n = self.text, len(self.text)
        while True:
            while self.pos < n and text[self.pos] in _SPACE:
                self.pos += 1
            if text.startswith("/*", self.pos):
                end = text.find("*/", self.pos + 2)
                if end < 0:
                    raise JsonataError("S0106", "Comment has no closing tag", self.pos)
                self.pos = end + 2
                continue
            break
        if self.pos >= n:
            return None
        ch = text[self.pos]
        if not infix and ch == "/":
            self.pos += 1
            return Token("regex", self._regex(), self.pos)
        two = text[self.pos : self.pos + 2]
        if two in _DOUBLE:
            self.pos += 2
            return Token("operator", two, self.pos)
        if ch in _SINGLE:
            self.pos += 1
            return Token("operator", ch, self.pos)
        if ch in "\"'":
            return self._string(ch)
        m = _NUMBER.match(text, self.pos)
        if m:
            value = float(m.group(0))
            if value in (float("inf"), float("-inf")):
                raise JsonataError("S0102", f"Number out of range: {m.group(0)}", self.pos)
            self.pos = m.end()
            number: float | int = int(value) if value.is_integer() and abs(value) < 2**53 else value
            return Token("number", number, self.pos)
        if ch == "`":
            end = text.find("`", self.pos + 1)
            if end < 0:
                raise JsonataError("S0105", "Quoted property name must be terminated with a backquote (`)", self.pos)
            name = text[self.pos + 1 : end]
            self.pos = end + 1
            return Token("name", name, self.pos)
        i = self.pos
        while i < n and text[i] not in _SPACE and text[i] not in _SINGLE:
            i += 1
        word = text[self.pos : i]
        self.pos = i
        if word.startswith("$"):
            return Token("variable", word[1:], i)
        if word in ("and", "or", "in"):
            return Token("operator", word, i)
        if word in ("true", "false", "null"):
            return Token("value", {"true": True, "false": False, "null": None}[word], i)
        return Token("name", word, i)

    def _string(self, quote: str) -> Token:
        text, n = self.text, len(self.text)
        i = self.pos + 1
        out: list[str] = []
        while i < n:
            ch = text[i]
            if ch == "\\":
                i += 1
                esc = text[i] if i < n else ""
                if esc in _ESCAPES:
                    out.append(_ESCAPES[esc])
                elif esc == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", text[i + 1 : i + 5]):
                    out.append(chr(int(text[i + 1 : i + 5], 16)))
                    i += 4
                else:
                    raise JsonataError("S0103", f"Unsupported escape sequence: \\{esc}", i)
            elif ch == quote:
                self.pos = i + 1
                return Token("string", _join_surrogates("".join(out)), self.pos)
            else:
                out.append(ch)
            i += 1
        raise JsonataError("S0101", "String literal must be terminated by a matching quote", self.pos)

    def _regex(self) -> dict[str, str]:
        text, n = self.text, len(self.text)
        start = i = self.pos
        depth = 0
        while i < n:
            ch = text[i]
            if ch == "/" and depth == 0 and (i == start or text[i - 1] != "\\" or _escaped_backslash(text, i)):
                pattern = text[start:i]
                if pattern == "":
                    raise JsonataError("S0301", "Empty regular expressions are not allowed", i)
                i += 1
                flags_start = i
                while i < n and text[i] in "im":
                    i += 1
                self.pos = i
                return {"pattern": pattern, "flags": text[flags_start:i]}
            if ch in "([{" and text[i - 1] != "\\":
                depth += 1
            elif ch in ")]}" and text[i - 1] != "\\":
                depth -= 1
            i += 1
        raise JsonataError("S0302", "No terminating / in regular expression", i)


def _escaped_backslash(text: str, i: int) -> bool:
    """Whether the `/` at i is preceded by an even run of backslashes (so it is not escaped)."""
    run = 0
    j = i - 1
    while j >= 0 and text[j] == "\\":
        run += 1
        j -= 1
    return run % 2 == 0


def _join_surrogates(text: str) -> str:
    """`\\ud83d\\ude00` escapes give two surrogates; join them into the one character they encode."""
    if not any("\ud800" <= c <= "\udfff" for c in text):
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "surrogatepass")
