"""Which input fields a JSONata expression reads, checked against the input's JSON Schema.

A small conservative reader, not a full JSONata parser: it follows field paths (`customer.email`,
`lines.(qty * price)`, `lines[qty > 1].sku`, `$lowercase(name)`) through the schema, stepping into
arrays and into the context of path blocks and predicates. Wherever it cannot be sure what the
context is (variables, `%`, wildcards, lambdas, function results) it stops judging: a field it
reports is one the expression really asks of a record the schema describes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from interlace.readiness.schemas import MISSING, UNKNOWN, field, items_of

_TOKEN = re.compile(
    r"""(?P<space>\s+|/\*.*?\*/)
    |(?P<string>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*')
    |(?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
    |(?P<var>\$\$|\$[A-Za-z_0-9]*)
    |(?P<name>[A-Za-z_][A-Za-z0-9_]*|`[^`]*`)
    |(?P<op>\.\.|:=|~>|!=|<=|>=|\*\*|[.,;:?()\[\]{}+\-*/%&=<>!@#^|])""",
    re.VERBOSE | re.DOTALL,
)
_OPERATOR_WORDS = {"and", "or", "in"}
_LITERALS = {"true", "false", "null"}
_ENDS_OPERAND = {"name", "var", "string", "number", ")", "]", "}"}


class _Unsure(Exception):
    """The expression uses something this reader does not follow (a lambda): judge nothing."""


@dataclass
class _Frame:
    context: Any
    closer: str
    kind: str  # "block" (path context), "predicate", "plain"
    saved_schema: Any = None
    saved_text: str = ""
    prefix: str = ""


@dataclass
class _Reader:
    root: Any
    missing: list[str] = dc_field(default_factory=list)
    frames: list[_Frame] = dc_field(default_factory=list)
    schema: Any = UNKNOWN
    text: str = ""
    in_path: bool = False

    @property
    def context(self) -> Any:
        return self.frames[-1].context if self.frames else self.root

    @property
    def prefix(self) -> str:
        return self.frames[-1].prefix if self.frames else ""

    def step(self, name: str) -> None:
        if self.schema in (UNKNOWN, MISSING):
            self.schema = UNKNOWN
            self.text = f"{self.text}.{name}" if self.text else name
            return
        found = field(self.schema, name)
        self.text = f"{self.text}.{name}" if self.text else name
        if found == MISSING:
            self.missing.append(self.text)
            self.schema = UNKNOWN
        else:
            self.schema = found

    def start(self, schema: Any, text: str = "") -> None:
        self.schema, self.text, self.in_path = schema, text, True

    def stop(self) -> None:
        self.schema, self.text, self.in_path = UNKNOWN, "", False


def unknown_fields(expression: str, schema: Any) -> list[str]:
    """Field paths `expression` reads that `schema` does not have (empty when unsure)."""
    tokens = _tokens(expression)
    if tokens is None:
        return []
    reader = _Reader(schema)
    try:
        _read(tokens, reader)
    except _Unsure:
        return []
    return list(dict.fromkeys(reader.missing))


def _tokens(text: str) -> list[tuple[str, str]] | None:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            return None
        pos = match.end()
        kind = match.lastgroup or ""
        if kind != "space":
            out.append((kind, match.group(kind)))
    return out


def _read(tokens: list[tuple[str, str]], r: _Reader) -> None:
    prev: tuple[str, str] = ("op", ",")
    for kind, value in tokens:
        after_dot = prev == ("op", ".")
        operand_before = prev[0] in ("name", "var", "string", "number") or prev[1] in (")", "]", "}")
        if kind == "name" and value in ("function", "λ"):
            raise _Unsure
        if kind == "name" and value in _OPERATOR_WORDS | _LITERALS and not after_dot:
            r.stop()
        elif kind == "name":
            name = value.strip("`")
            if not after_dot:
                r.start(r.context, r.prefix)
            r.step(name)
        elif kind == "var":
            r.start(r.root if value == "$$" else r.context if value == "$" else UNKNOWN, "")
        elif kind in ("string", "number"):
            r.stop()
        else:
            _op(value, r, after_dot=after_dot, operand_before=operand_before)
        prev = (kind, value)
    if r.frames:
        raise _Unsure


def _op(value: str, r: _Reader, *, after_dot: bool, operand_before: bool) -> None:
    if value == ".":
        if not r.in_path:
            r.start(UNKNOWN)
    elif value in ("*", "**") and (after_dot or not operand_before):
        r.start(UNKNOWN)
    elif value == "(":
        context = r.schema if after_dot and r.in_path else r.context
        prefix = r.text if after_dot else r.prefix
        r.frames.append(
            _Frame(items_of(context) if after_dot else context, ")", "block" if after_dot else "plain", prefix=prefix)
        )
        r.stop()
    elif value == "[" and operand_before and r.in_path:
        r.frames.append(_Frame(items_of(r.schema), "]", "predicate", r.schema, r.text, prefix=r.text))
        r.stop()
    elif value in ("[", "{"):
        on_path = (after_dot or operand_before) and value == "{"
        context = items_of(r.schema) if on_path and r.in_path else UNKNOWN if on_path else r.context
        prefix = r.text if on_path else r.prefix
        r.frames.append(_Frame(context, "]" if value == "[" else "}", "plain", prefix=prefix))
        r.stop()
    elif value in (")", "]", "}"):
        if not r.frames or r.frames[-1].closer != value:
            raise _Unsure
        frame = r.frames.pop()
        if frame.kind == "predicate":
            r.start(frame.saved_schema, frame.saved_text)
        else:
            r.start(UNKNOWN)
    elif value in ("%", "@", "#"):
        r.start(UNKNOWN)
    else:
        r.stop()
