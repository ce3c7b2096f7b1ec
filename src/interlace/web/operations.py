"""The shape of an admin API operation (path, method, role, parameters, body schema) and the
checks of what a call sends against it: web/api.py lists the operations, web/openapi.py writes
their document, and the routes are built from the same list."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import jsonschema
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from interlace.backends.base import Role
from interlace.web.auth import Endpoint

MAX_ID = 2**63 - 1
"""The largest id the store holds (a signed 64-bit integer)."""


@dataclass(frozen=True)
class Param:
    name: str
    schema: dict[str, Any]
    description: str
    where: str = "query"
    required: bool = False


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    """Below /api, with `{name}` for each path parameter."""
    endpoint: Endpoint
    summary: str
    role: Role
    tag: str
    params: tuple[Param, ...] = ()
    body: dict[str, Any] | None = None
    """The JSON Schema of the request body (None: the operation takes none)."""
    body_required: bool = False
    answer: dict[str, Any] = field(default_factory=lambda: {"type": "object"})
    status: int = 200
    errors: tuple[int, ...] = ()
    """The statuses besides success, 401 and 403 that it may answer."""


class BadRequest(Exception):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def error(status: int, text: str) -> Response:
    return JSONResponse({"error": text}, status_code=status)


def _typed(value: str, schema: dict[str, Any], name: str) -> Any:
    kind = schema.get("type", "string")
    if kind == "integer":
        try:
            number = int(value)
        except ValueError:
            raise BadRequest(f"{name} is a whole number, not {value!r}") from None
        low, high = schema.get("minimum", -MAX_ID), schema.get("maximum", MAX_ID)
        if not low <= number <= high:
            raise BadRequest(f"{name} is between {low} and {high}")
        return number
    if kind == "boolean":
        if value not in ("true", "false"):
            raise BadRequest(f"{name} is true or false")
        return value == "true"
    if "enum" in schema and value not in schema["enum"]:
        raise BadRequest(f"{name} is one of {', '.join(schema['enum'])}")
    return value


def arguments(request: Request, params: tuple[Param, ...]) -> dict[str, Any]:
    """The operation's parameters from the request, checked against their schemas (BadRequest)."""
    found: dict[str, Any] = {}
    for p in params:
        raw = request.path_params.get(p.name) if p.where == "path" else request.query_params.get(p.name)
        if raw is None:
            found[p.name] = p.schema.get("default")
            continue
        found[p.name] = _typed(raw, p.schema, p.name)
    return found


async def json_body(request: Request, schema: dict[str, Any], required: bool) -> Any:
    """The request's JSON body checked against `schema`; None when empty and not required."""
    raw = await request.body()
    if not raw.strip():
        if required:
            raise BadRequest("this call needs a JSON body")
        return None
    try:
        payload = json.loads(raw)
        json.dumps(payload, ensure_ascii=False).encode()  # a lone surrogate cannot be stored
    except (ValueError, UnicodeError) as exc:
        raise BadRequest(f"the request body is not JSON: {exc}") from None
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(payload), key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "the body"
        raise BadRequest(f"{where}: {first.message}")
    return payload
