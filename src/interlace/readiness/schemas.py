"""JSON Schema helpers for the mapping checks: follow a field path, and build a sample record.

Both are conservative: where a schema does not say (no `properties`, a `$ref`, pattern
properties, additional properties with their own schema) the answer is UNKNOWN, never "missing".
"""

from __future__ import annotations

from typing import Any, Final

from interlace.types import JSON, JSONObject

UNKNOWN: Final = "unknown"
MISSING: Final = "missing"

_FORMATS = {
    "email": "someone@example.test",
    "date": "2024-01-31",
    "date-time": "2024-01-31T12:00:00Z",
    "time": "12:00:00Z",
    "uri": "https://example.test/",
    "uuid": "00000000-0000-4000-8000-000000000000",
}


def items_of(schema: Any) -> Any:
    """The schema of the records JSONata steps into: an array's items, else the schema itself."""
    seen = 0
    while isinstance(schema, dict) and (schema.get("type") == "array" or "items" in schema) and seen < 8:
        schema = schema.get("items", {})
        seen += 1
    return schema


def field(schema: Any, name: str) -> JSONObject | str:
    """The schema of field `name` of `schema` (an array steps into its items), MISSING when the
    schema lists its properties and `name` is not one, UNKNOWN when it cannot tell."""
    schema = items_of(schema)
    if schema is True:
        return UNKNOWN
    if not isinstance(schema, dict) or "$ref" in schema or "patternProperties" in schema:
        return UNKNOWN
    if isinstance(schema.get("additionalProperties"), dict):
        return UNKNOWN
    branches = [schema, *schema.get("allOf", []), *schema.get("anyOf", []), *schema.get("oneOf", [])]
    props: dict[str, Any] = {}
    for branch in branches:
        if not isinstance(branch, dict):
            return UNKNOWN
        if branch is not schema and "properties" not in branch:
            return UNKNOWN
        props.update(branch.get("properties", {}))
    if "properties" not in schema and not props:
        return UNKNOWN
    if name not in props:
        return MISSING
    found = props[name]
    return found if isinstance(found, dict) else {}


def knows_fields(schema: Any) -> bool:
    return isinstance(schema, dict) and field(schema, "\0") == MISSING


def sample(schema: Any, depth: int = 0) -> JSON:
    """A record matching `schema` with every declared property filled in (optional ones too), so
    that a mapping evaluated on it meets every field the schema allows."""
    if not isinstance(schema, dict) or depth > 12:
        return None
    for word in ("const", "default"):
        if word in schema:
            return schema[word]
    for word in ("enum", "examples"):
        if schema.get(word):
            return schema[word][0]
    for word in ("anyOf", "oneOf"):
        if schema.get(word):
            return sample(schema[word][0], depth + 1)
    if schema.get("allOf"):
        merged: JSONObject = {}
        for branch in schema["allOf"]:
            value = sample(branch, depth + 1)
            if isinstance(value, dict):
                merged.update(value)
        base = sample({k: v for k, v in schema.items() if k != "allOf"}, depth + 1)
        return {**merged, **base} if isinstance(base, dict) else merged or base
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "array" if "items" in schema else None
    return _typed(kind, schema, depth)


def _typed(kind: Any, schema: JSONObject, depth: int) -> JSON:
    if kind == "object":
        return {k: sample(v, depth + 1) for k, v in schema.get("properties", {}).items()}
    if kind == "array":
        return [sample(schema.get("items", {}), depth + 1) for _ in range(max(1, schema.get("minItems", 1)))]
    if kind == "string":
        text = _FORMATS.get(schema.get("format", ""), "sample")
        return text.ljust(int(schema.get("minLength", 0)), "x")
    if kind in ("integer", "number"):
        low = float(schema.get("minimum", schema.get("exclusiveMinimum", 0)) or 0)
        value = max(low + 1, 1.0) if kind == "integer" else max(low + 1.5, 1.5)
        high = schema.get("maximum")
        value = min(value, float(high)) if isinstance(high, int | float) else value
        return int(value) if kind == "integer" else value
    if kind == "boolean":
        return True
    return None
