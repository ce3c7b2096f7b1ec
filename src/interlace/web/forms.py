"""The edit-and-retry form of an exception, made from the entity schema its flow validates
against: one input per scalar field (text, number, checkbox, or a choice for an `enum`), nested
objects as groups, and arrays or fields the schema does not describe as JSON text. Reading the
form back coerces each value to its schema type; a value that does not fit is a problem named
by its field, and nothing is retried."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

MISSING = object()


@dataclass
class Field:
    path: tuple[str, ...]
    kind: str
    """text, integer, number, boolean, choice or json"""
    value: str
    required: bool = False
    choices: list[str] = field(default_factory=list)
    description: str = ""

    @property
    def name(self) -> str:
        return "f." + ".".join(self.path)

    @property
    def label(self) -> str:
        return ".".join(self.path)


def _kind(schema: dict[str, Any]) -> str:
    if "enum" in schema and all(isinstance(v, str) for v in schema["enum"]):
        return "choice"
    types = schema.get("type", "string")
    types = [t for t in (types if isinstance(types, list) else [types]) if t != "null"]
    kind = types[0] if len(types) == 1 else "json"
    return {"string": "text", "integer": "integer", "number": "number", "boolean": "boolean"}.get(kind, "json")


def _shown(value: Any, kind: str) -> str:
    if value is MISSING or value is None:
        return ""
    if kind in ("text", "choice") and isinstance(value, str):
        return value
    if kind == "boolean":
        return "true" if value is True else ""
    return json.dumps(value, ensure_ascii=False)


def fields(schema: dict[str, Any], body: Any, prefix: tuple[str, ...] = ()) -> list[Field]:
    """The form's fields for `body` as `schema` describes it (the body's own extra fields too)."""
    props = schema.get("properties", {}) if isinstance(schema.get("properties"), dict) else {}
    required = set(schema.get("required", []))
    values = body if isinstance(body, dict) else {}
    out: list[Field] = []
    for name in [*props, *(k for k in values if k not in props)]:
        sub = props.get(name, {}) if isinstance(props.get(name), dict) else {}
        value = values.get(name, MISSING)
        if sub.get("type") == "object" and isinstance(sub.get("properties"), dict) and isinstance(
            value if value is not MISSING else {}, dict
        ):
            out += fields(sub, value if isinstance(value, dict) else {}, (*prefix, name))
            continue
        kind = _kind(sub) if sub else ("text" if isinstance(value, str) else "json")
        choices = [str(c) for c in sub.get("enum", [])] if kind == "choice" else []
        out.append(Field((*prefix, name), kind, _shown(value, kind), name in required, choices,
                         str(sub.get("description", ""))))  # fmt: skip
    return out


class FormProblem(ValueError):
    pass


def _parse(f: Field, raw: str | None) -> Any:
    if f.kind == "boolean":
        return raw is not None
    text = (raw or "").strip() if f.kind != "text" else (raw or "")
    if text == "" and f.kind != "text":
        return MISSING
    if f.kind == "integer":
        try:
            return int(text)
        except ValueError:
            raise FormProblem(f"{f.label}: a whole number, not {text!r}") from None
    if f.kind == "number":
        try:
            number = float(text)
        except ValueError:
            raise FormProblem(f"{f.label}: a number, not {text!r}") from None
        return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number
    if f.kind == "json":
        try:
            return json.loads(text)
        except ValueError as exc:
            raise FormProblem(f"{f.label}: not JSON ({exc})") from None
    if f.kind == "choice" and text not in f.choices:
        raise FormProblem(f"{f.label}: one of {', '.join(f.choices)}")
    return text


def body_from_form(schema: dict[str, Any], original: Any, form: dict[str, str]) -> Any:
    """The corrected body: `original` with each field of the form set to its typed value (an
    emptied optional field is left out)."""
    body = copy.deepcopy(original) if isinstance(original, dict) else {}
    for f in fields(schema, original):
        value = _parse(f, form.get(f.name))
        target = body
        for part in f.path[:-1]:
            nxt = target.get(part)
            if not isinstance(nxt, dict):
                nxt = target[part] = {}
            target = nxt
        absent = f.path[-1] not in target
        if value is MISSING or (absent and not f.required and value in ("", False)):
            target.pop(f.path[-1], None)  # emptied, or left empty where the body had nothing
        else:
            target[f.path[-1]] = value
    return body
