"""What the hub says about itself over HTTP: /metrics (Prometheus), /healthz (alive) and /readyz
(ready for traffic). /healthz and /readyz need no token (probes of an orchestrator); /metrics
needs a viewer token unless `hub.open_metrics` (web/app.py decides)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Protocol

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from interlace.backends.base import Backend
from interlace.config.loader import LoadedConfig
from interlace.connectors.base import Ingress
from interlace.observability import metrics
from interlace.types import JSONObject

WRITE_CHECK_TIMEOUT = 5.0
"""A store that has not committed a small write in this long is not ready."""


class Observed(Protocol):
    """What these routes read of the hub (`interlace.hub.Hub` is one)."""

    @property
    def loaded(self) -> LoadedConfig: ...

    @property
    def backend(self) -> Backend: ...

    @property
    def ingress(self) -> Ingress: ...

    def liveness(self) -> JSONObject:
        """{"status": "ok" | "down", ...}: the event loop and the worker loops are alive."""
        ...

    @property
    def started(self) -> bool: ...


class _Gauges:
    """Sets the scrape-time gauges from the store, and zeroes the series that went away (a flow
    whose backlog emptied, an owner whose exceptions were all handled)."""

    def __init__(self) -> None:
        self.backlog: set[str] = set()
        self.open: set[tuple[str, str]] = set()

    async def refresh(self, hub: Observed) -> None:
        backlog = await hub.backend.backlog()
        flows = set(hub.loaded.config.flows) | set(backlog)
        for flow in flows | self.backlog:
            metrics.BACKLOG.labels(flow).set(backlog.get(flow, 0))
        self.backlog = flows
        opened = {(flow, owner or ""): n for (flow, owner), n in (await hub.backend.open_exceptions()).items()}
        for key in set(opened) | self.open:
            metrics.EXCEPTIONS_OPEN.labels(*key).set(opened.get(key, 0))
        self.open = set(opened)


_gauges = _Gauges()
"""One for the process, like the gauges it sets: a reloaded hub's app zeroes its predecessor's series."""


def metrics_endpoint(hub: Observed) -> Any:
    async def serve_metrics(request: Request) -> Response:
        await _gauges.refresh(hub)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return serve_metrics


def healthz_endpoint(hub: Observed) -> Any:
    async def healthz(request: Request) -> Response:
        state = hub.liveness()
        return JSONResponse(state, status_code=200 if state.get("status") == "ok" else 503)

    return healthz


async def readiness(hub: Observed) -> JSONObject:
    """{"status": "ready" | "not ready", "checks": {store, backpressure, config}}."""
    ready = True
    checks: dict[str, Any] = {}
    try:
        await asyncio.wait_for(hub.backend.check_writable(), WRITE_CHECK_TIMEOUT)
        checks["store"] = "writable"
    except Exception as exc:  # a full disk, a lock held too long, a store without the check
        ready = False
        checks["store"] = f"not writable: {type(exc).__name__}: {exc}"[:300]
    pressure: Mapping[str, Any] = await hub.ingress.pressure()
    checks["backpressure"] = dict(pressure)
    ready = ready and not pressure
    flows = len(hub.loaded.config.flows)
    checks["config"] = {"loaded": hub.started, "flows": flows}
    ready = ready and hub.started
    return {"status": "ready" if ready else "not ready", "checks": checks}


def readyz_endpoint(hub: Observed) -> Any:
    async def readyz(request: Request) -> Response:
        state = await readiness(hub)
        return JSONResponse(state, status_code=200 if state["status"] == "ready" else 503)

    return readyz
