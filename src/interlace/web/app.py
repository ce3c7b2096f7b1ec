"""The hub's HTTP server: connector routes (webhooks), health, metrics and the admin API.

Every route but /health, /healthz, /readyz (web/status.py) and the webhooks needs a token
(web/auth.py): reading needs the viewer role, acting on exceptions the operator role, managing
tokens and reading the audit log the admin role. /metrics needs a viewer token unless
`hub.open_metrics` is set. With `hub.webhooks` set,
the webhooks are served on their own listener (`build_webhook_app`) and not on this one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from interlace.backends.base import ROLES, ApiToken, Backend, ExceptionRecord, Role
from interlace.config.loader import LoadedConfig
from interlace.config.models import HubSettings
from interlace.config.secrets import redact
from interlace.connectors.base import Connector, Ingress
from interlace.types import JSON, JSONObject
from interlace.web import actions, auth
from interlace.web.auth import Endpoint
from interlace.web.status import healthz_endpoint, metrics_endpoint, readyz_endpoint


class Served(Protocol):
    """What the web app takes of the hub it serves (`interlace.hub.Hub` is one): the web layer sits
    below the hub, so it names what it reads here instead of importing the Hub."""

    @property
    def settings(self) -> HubSettings: ...

    @property
    def loaded(self) -> LoadedConfig: ...

    @property
    def backend(self) -> Backend: ...

    @property
    def connectors(self) -> Mapping[str, Connector]: ...

    @property
    def ingress(self) -> Ingress: ...

    @property
    def started(self) -> bool: ...

    def liveness(self) -> JSONObject: ...

    @property
    def config_digest(self) -> str: ...


READ_METHODS = frozenset({"GET", "HEAD"})


def _health(hub: Served) -> Route:
    async def health(request: Request) -> Response:
        pressure = await hub.ingress.pressure()
        return JSONResponse(
            {
                "status": "backpressure" if pressure else "ok",
                "hub": hub.settings.name,
                "pending": await hub.backend.pending(),
                "backpressure": pressure,
                "config": hub.config_digest[:12],
            }
        )

    return Route("/health", health)


def _probes(hub: Served) -> list[BaseRoute]:
    """/health, and the orchestrator's probes: /healthz (alive), /readyz (ready); no token."""
    return [_health(hub), Route("/healthz", healthz_endpoint(hub)), Route("/readyz", readyz_endpoint(hub))]


def _webhooks(hub: Served) -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    for connector in hub.connectors.values():
        routes.extend(connector.routes(hub.ingress))
    return routes


def build_webhook_app(hub: Served) -> FastPaths:
    """The partners' listener (`hub.webhooks`): the webhooks and /health, nothing else."""
    webhooks = _webhooks(hub)
    return FastPaths(Starlette(routes=[*_probes(hub), *webhooks]), webhooks)


def build_health_app(hub: Served) -> Starlette:
    """A worker's listener (`interlace worker --port`): /health, and /metrics when
    `hub.open_metrics` is set (a worker serves no API, so nothing that needs a token)."""
    routes: list[BaseRoute] = [*_probes(hub)]
    if hub.settings.open_metrics:
        routes.append(Route("/metrics", metrics_endpoint(hub)))
    return Starlette(routes=routes)


def _exception_summary(e: ExceptionRecord) -> JSON:
    return {
        "id": e.id,
        "flow": e.flow,
        "stage": e.stage,
        "owner": e.owner,
        "status": e.status,
        "reason": e.reason,
        "message_id": e.message.id,
        "created_at": e.created_at,
    }


def _token_view(t: ApiToken) -> dict[str, JSON]:
    return {"name": t.name, "role": t.role, "created_at": t.created_at, "created_by": t.created_by,
            "revoked_at": t.revoked_at}  # fmt: skip


def _error(status: int, text: str) -> Response:
    return JSONResponse({"error": text}, status_code=status)


def _int_param(request: Request, name: str) -> int | None:
    try:
        return int(request.path_params[name])
    except ValueError:
        return None


def api_routes(hub: Served) -> list[tuple[str, Endpoint, list[str], Role | None]]:
    """The admin API: (path, endpoint, methods, role). A role of None takes the default of the
    method: viewer to read, operator to change. Every one of these is served behind a token."""
    backend = hub.backend

    async def trace(request: Request) -> Response:
        entries = await backend.trace(request.path_params["message_id"])
        if not entries:
            return _error(404, "no such message")
        return JSONResponse({"trace": redact([asdict(e) for e in entries])})

    async def exceptions(request: Request) -> Response:
        status = request.query_params.get("status", "open")
        found = await backend.exceptions(
            status=None if status == "all" else status,
            flow=request.query_params.get("flow"),
            owner=request.query_params.get("owner"),
        )
        return JSONResponse({"exceptions": redact([_exception_summary(e) for e in found])})

    async def exception(request: Request) -> Response:
        exception_id = _int_param(request, "exception_id")
        found = None if exception_id is None else await backend.get_exception(exception_id)
        if found is None:
            return _error(404, "no such exception")
        data = asdict(found)
        data["message"] = found.message.model_dump(mode="json")
        return JSONResponse(redact(json.loads(json.dumps(data, default=str))))

    async def retry(request: Request) -> Response:
        exception_id = _int_param(request, "exception_id")
        raw = await request.body()
        edited = None
        if raw.strip():
            try:
                payload = json.loads(raw)
            except ValueError as exc:
                return _error(400, f"the request body is not JSON: {exc}")
            if not isinstance(payload, dict) or set(payload) - {"body"}:
                return _error(400, 'send nothing to retry as is, or {"body": <the corrected body>}')
            edited = payload.get("body")
        actor, detail = auth.caller(request)
        if exception_id is None or not await actions.retry(backend, actor, exception_id, edited, detail):
            return _error(404, "no open exception with this id")
        return JSONResponse({"id": exception_id, "status": "retried", "edited": edited is not None})

    async def discard(request: Request) -> Response:
        exception_id = _int_param(request, "exception_id")
        actor, detail = auth.caller(request)
        if exception_id is None or not await actions.discard(backend, actor, exception_id, detail):
            return _error(404, "no open exception with this id")
        return JSONResponse({"id": exception_id, "status": "discarded"})

    async def golden(request: Request) -> Response:
        entity, key = request.path_params["entity"], request.path_params["key"]
        if entity not in hub.loaded.config.entities:
            return _error(404, f"no entity named {entity!r}")
        found = (await backend.golden(entity, [key])).get(key)
        if found is None:
            return _error(404, f"no {entity} with key {key!r}")
        history = await backend.golden_history(entity, key)
        return JSONResponse(redact({"record": asdict(found), "history": [asdict(h) for h in history]}))

    async def tokens(request: Request) -> Response:
        if request.method == "GET":
            found = await backend.tokens(revoked=request.query_params.get("revoked") == "true")
            return JSONResponse({"tokens": [_token_view(t) for t in found]})
        try:
            payload = json.loads(await request.body())
            name, role = payload["name"], payload["role"]
        except (ValueError, TypeError, KeyError):
            return _error(400, 'send {"name": ..., "role": "viewer" | "operator" | "admin"}')
        if not isinstance(name, str) or not name or role not in ROLES:
            return _error(400, f"a token needs a non-empty name and a role of {', '.join(ROLES)}")
        try:
            token, record = await auth.create_token(backend, name, role, request.state.token.name)
        except ValueError as exc:
            return _error(409, str(exc))
        return JSONResponse({"token": token, **_token_view(record)}, status_code=201)

    async def revoke(request: Request) -> Response:
        name = request.path_params["name"]
        if not await auth.revoke_token(backend, name, request.state.token.name):
            return _error(404, f"no live token named {name!r}")
        return JSONResponse({"name": name, "status": "revoked"})

    async def audit_log(request: Request) -> Response:
        try:
            limit = int(request.query_params.get("limit", "100"))
        except ValueError:
            return _error(400, "limit is a number")
        entries = await backend.audit_log(limit=limit, actor=request.query_params.get("actor"))
        return JSONResponse({"audit": [asdict(e) for e in entries]})

    routes: list[tuple[str, Endpoint, list[str], Role | None]] = [
        ("/api/messages/{message_id}/trace", trace, ["GET"], None),
        ("/api/exceptions", exceptions, ["GET"], None),
        ("/api/exceptions/{exception_id}", exception, ["GET"], None),
        ("/api/exceptions/{exception_id}/retry", retry, ["POST"], None),
        ("/api/exceptions/{exception_id}/discard", discard, ["POST"], None),
        ("/api/entities/{entity}/{key}", golden, ["GET"], None),
        ("/api/tokens", tokens, ["GET", "POST"], "admin"),
        ("/api/tokens/{name}", revoke, ["DELETE"], "admin"),
        ("/api/audit", audit_log, ["GET"], "admin"),
    ]
    if not hub.settings.open_metrics:
        routes.append(("/metrics", metrics_endpoint(hub), ["GET"], None))
    return routes


def build_app(hub: Served) -> FastPaths:
    """The main listener: /health, the admin API behind tokens, and the webhooks unless they have
    their own listener."""
    routes: list[BaseRoute] = _probes(hub)
    if hub.settings.open_metrics:
        routes.append(Route("/metrics", metrics_endpoint(hub)))
    for path, endpoint, methods, role in api_routes(hub):
        # One route per method, so that each method carries its own role.
        for method in methods:
            needed: Role = role or ("viewer" if method in READ_METHODS else "operator")
            guarded = auth.requires(needed, endpoint, hub.backend, mutates=method not in READ_METHODS)
            routes.append(Route(path, guarded, methods=[method]))
    webhooks = _webhooks(hub) if hub.settings.webhooks is None else []
    return FastPaths(Starlette(routes=[*routes, *webhooks]), webhooks)


class FastPaths:
    """Webhook routes at a fixed path are served directly, ahead of Starlette's router and
    middleware: on the hub's hottest path that is a quarter of the CPU per request. A route so
    served still checks its method; everything else goes to the Starlette app."""

    def __init__(self, app: Starlette, routes: list[BaseRoute]) -> None:
        self.app = app
        self.fixed: dict[str, Route] = {}
        for route in routes:
            if isinstance(route, Route) and not route.param_convertors:
                self.fixed.setdefault(route.path, route)

    @property
    def routes(self) -> list[BaseRoute]:
        """Every route the app serves (the fast ones are among them)."""
        return self.app.routes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            route = self.fixed.get(scope["path"])
            if route is not None:
                scope["path_params"] = {}
                await route.handle(scope, receive, send)
                return
        await self.app(scope, receive, send)
