"""The OpenAPI 3.1 document of the admin API, made from its table of operations (web/api.py)."""

from __future__ import annotations

from typing import Any

from interlace import __version__
from interlace.web.operations import Operation

ERROR = {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}
_WHY = {
    400: "The call's parameters or body are not what the operation takes.",
    401: "No token, or an unknown or revoked one.",
    403: "The token's role is too weak for this operation.",
    404: "Nothing by that name or id.",
    409: "It exists already.",
}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _operation(op: Operation) -> dict[str, Any]:
    answers: dict[str, Any] = {
        str(op.status): {"description": "Done." if op.method != "GET" else "Found.", "content": _json(op.answer)}
    }
    for status in (*op.errors, 401, 403):
        answers[str(status)] = {"description": _WHY[status], "content": _json({"$ref": "#/components/schemas/Error"})}
    found: dict[str, Any] = {
        "operationId": f"{op.method.lower()}_{op.path.strip('/').replace('/', '_').replace('{', '').replace('}', '')}",
        "summary": op.summary,
        "description": f"{op.summary} Needs the {op.role} role.",
        "tags": [op.tag],
        "responses": answers,
    }
    if op.params:
        found["parameters"] = [
            {"name": p.name, "in": p.where, "required": p.required or p.where == "path",
             "description": p.description, "schema": p.schema}
            for p in op.params
        ]  # fmt: skip
    if op.body is not None:
        found["requestBody"] = {"required": op.body_required, "content": _json(op.body)}
    return found


def document(operations: list[Operation], hub: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault("/api" + op.path, {})[op.method.lower()] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"Interlace admin API ({hub})",
            "version": __version__,
            "description": "Systems, flows, messages and traces, exceptions and their actions, entities and golden "
            "records, the gain report, the config and the audit log. Every operation needs "
            "`Authorization: Bearer <token>` (roles: viewer < operator < admin).",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR},
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"token": []}],
    }
