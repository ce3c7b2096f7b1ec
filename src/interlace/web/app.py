"""The hub's HTTP server: connector routes (webhooks), health, metrics, the admin API (/api,
web/api.py) and the console (/console, web/console.py).

Every route but /health, /healthz, /readyz (web/status.py), the webhooks and the console's login
page needs a token (web/auth.py), or for the console a session opened with one (web/sessions.py):
reading needs the viewer role,
acting on exceptions the operator role, managing tokens and reading the audit log the admin role.
/metrics needs a viewer token unless `hub.open_metrics` is set. With `hub.webhooks` set, the
webhooks are served on their own listener (`build_webhook_app`) and not on this one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from interlace.web import auth
from interlace.web.api import Api, Served
from interlace.web.auth import Endpoint
from interlace.web.console import Console
from interlace.web.operations import BadRequest
from interlace.web.rates import RateMeter
from interlace.web.status import healthz_endpoint, metrics_endpoint, readyz_endpoint
from interlace.web.systems import SystemHealth
from interlace.web.taskpages import TaskPages

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


def api_routes(api: Api) -> list[BaseRoute]:
    """The admin API (web/api.py), each operation behind a token of its role; a call that sends
    what the operation does not take is answered 400."""
    routes: list[BaseRoute] = []
    for op in api.operations():
        guarded = auth.requires(op.role, _checked(op.endpoint), api.backend, mutates=op.method not in READ_METHODS)
        routes.append(Route(op.path, guarded, methods=[op.method]))
    return routes


def _checked(endpoint: Endpoint) -> Endpoint:
    async def checked(request: Request) -> Response:
        try:
            return await endpoint(request)
        except BadRequest as exc:
            return JSONResponse({"error": exc.text}, status_code=400)

    checked.__name__ = getattr(endpoint, "__name__", "checked")
    return checked


def build_app(hub: Served, extra: Sequence[BaseRoute] = ()) -> FastPaths:
    """The main listener: the probes, /metrics, the admin API under /api behind tokens, the console under
    /console behind sessions, and the webhooks unless they have their own listener. The API and
    the console are one mount each, so a webhook's request is matched against two prefixes more,
    not against every route of theirs. `extra`: the agents' link (agent/links.py), behind their
    own tokens. Systems an agent runs are not probed from here (their agent's link is their health)."""
    config = hub.loaded.config
    probed = {n: c for n, c in hub.connectors.items() if n not in config.systems or config.systems[n].agent is None}
    api = Api(hub, RateMeter(), SystemHealth(probed))
    routes: list[BaseRoute] = _probes(hub)
    metrics = metrics_endpoint(hub)
    if hub.settings.open_metrics:
        routes.append(Route("/metrics", metrics))
    else:
        routes.append(Route("/metrics", auth.requires("viewer", metrics, hub.backend, mutates=False), methods=["GET"]))
    routes.append(Mount("/api", routes=api_routes(api)))
    console = Console(api)
    routes.append(Mount("/console", routes=[*TaskPages(console).routes(), *console.routes()]))
    routes.extend(extra)
    webhooks = _webhooks(hub) if hub.settings.webhooks is None else []
    return FastPaths(Starlette(routes=[*routes, *webhooks]), webhooks)


def endpoints(routes: list[BaseRoute], prefix: str = "") -> list[tuple[str, str]]:
    """Every (method, path) below `routes`, mounts walked into (HEAD left out)."""
    found = []
    for route in routes:
        if isinstance(route, Mount):
            found += endpoints(route.routes, prefix + route.path)
        elif isinstance(route, Route):
            found += [(m, prefix + route.path) for m in sorted(route.methods or ()) if m != "HEAD"]
    return found


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

    def endpoint(self, scope: Any) -> Any:
        """The endpoint of a request to a fixed path with a method it takes, to run with no
        router in between (web/protocol.py); None for any other request."""
        route = self.fixed.get(scope["path"])
        if route is None or route.methods is None or scope["method"] not in route.methods:
            return None
        scope["path_params"] = {}
        return route.app
