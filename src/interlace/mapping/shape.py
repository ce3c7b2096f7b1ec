"""What a mapping produces, read from its text: the field names of a top-level object constructor."""

from __future__ import annotations

import json


def constructed_fields(expression: str) -> list[str] | None:
    """The keys of `{"a": ..., "b": ...}` when the whole expression is one object constructor with
    string-literal keys; None when it is anything else (then the fields cannot be known without
    running it)."""
    text = expression.strip()
    if not text.startswith("{") or not text.endswith("}"):
        return None
    keys: list[str] = []
    depth = 0
    expecting_key = False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in "\"'":
            end = i + 1
            while end < len(text) and text[end] != ch:
                end += 2 if text[end] == "\\" else 1
            literal = text[i : end + 1]
            if depth == 1 and expecting_key:
                rest = text[end + 1 :].lstrip()
                if not rest.startswith(":"):
                    return None
                keys.append(json.loads(literal) if ch == '"' else literal[1:-1])
                expecting_key = False
            i = end + 1
            continue
        if ch in "{[(":
            depth += 1
            if depth == 1:
                expecting_key = True
        elif ch in "}])":
            depth -= 1
            if depth == 0 and i != len(text) - 1:
                return None  # `{...}.x` or `{...}[0]`: not one constructor
        elif ch == "," and depth == 1:
            expecting_key = True
        elif not ch.isspace() and depth == 1 and expecting_key:
            return None  # a computed key
        i += 1
    return keys
