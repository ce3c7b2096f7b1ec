"""The hub's HTTP server: connector routes (webhooks), health, metrics and a small read API."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from interlace.config.secrets import redact

if TYPE_CHECKING:
    from interlace.engine.hub import Hub


def build_app(hub: Hub) -> Starlette:
    async def health(request: Request) -> Response:
        return JSONResponse(
            {"status": "ok", "hub": hub.settings.name, "pending": await hub.backend.pending()}
        )

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    async def trace(request: Request) -> Response:
        entries = await hub.backend.trace(request.path_params["message_id"])
        if not entries:
            return JSONResponse({"error": "no such message"}, status_code=404)
        return JSONResponse({"trace": redact([asdict(e) for e in entries])})

    async def exceptions(request: Request) -> Response:
        found = await hub.backend.exceptions(
            status=request.query_params.get("status", "open"),
            flow=request.query_params.get("flow"),
            owner=request.query_params.get("owner"),
        )
        return JSONResponse(
            {
                "exceptions": redact(
                    [
                        {
                            "id": e.id,
                            "flow": e.flow,
                            "stage": e.stage,
                            "owner": e.owner,
                            "reason": e.reason,
                            "message_id": e.message.id,
                            "created_at": e.created_at,
                        }
                        for e in found
                    ]
                )
            }
        )

    async def golden(request: Request) -> Response:
        entity, key = request.path_params["entity"], request.path_params["key"]
        if entity not in hub.loaded.config.entities:
            return JSONResponse({"error": f"no entity named {entity!r}"}, status_code=404)
        found = (await hub.backend.golden(entity, [key])).get(key)
        if found is None:
            return JSONResponse({"error": f"no {entity} with key {key!r}"}, status_code=404)
        history = await hub.backend.golden_history(entity, key)
        return JSONResponse(redact({"record": asdict(found), "history": [asdict(h) for h in history]}))

    routes: list[BaseRoute] = [
        Route("/health", health),
        Route("/metrics", metrics),
        Route("/api/messages/{message_id}/trace", trace),
        Route("/api/exceptions", exceptions),
        Route("/api/entities/{entity}/{key}", golden),
    ]
    for connector in hub.connectors.values():
        routes.extend(connector.routes(hub.ingress))
    return Starlette(routes=routes)
