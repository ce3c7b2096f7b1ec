"""Receives events over HTTP: check, persist durably, then answer 202 with the message ids."""

from __future__ import annotations

from functools import cached_property
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from interlace.connectors.base import Connector, Incoming, Ingress, Options, Source
from interlace.connectors.webhook.body import BodyRefused, check_content_type, parse_json, read_body
from interlace.connectors.webhook.settings import WebhookSettings, WebhookTrigger
from interlace.connectors.webhook.signature import SignatureCheck
from interlace.errors import ValidationFailed


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


class WebhookConnector(Connector):
    name: ClassVar[str] = "webhook"
    settings_model: ClassVar[type[Options]] = WebhookSettings
    source_options: ClassVar[type[Options] | None] = WebhookTrigger
    settings: WebhookSettings

    @property
    def path(self) -> str:
        return self.settings.path or f"/hooks/{self.system}"

    def source(self, flow: str, options: Any) -> Source | None:
        return None  # passive: events arrive through routes()

    def routes(self, ingress: Ingress) -> list[BaseRoute]:
        async def receive(request: Request) -> Response:
            return await self._receive(request, ingress)

        return [
            Route(self.path, receive, methods=["POST"]),
            Route(self.path.rstrip("/") + "/{event}", receive, methods=["POST"]),
        ]

    @cached_property
    def signatures(self) -> SignatureCheck | None:
        """The system's signature rules and its memory of accepted signatures (None: unsigned)."""
        return None if self.settings.signature is None else SignatureCheck(self.settings.signature)

    async def _receive(self, request: Request, ingress: Ingress) -> Response:
        signatures = self.signatures
        try:
            raw = await read_body(request, self.settings.max_body)
            problem = None if signatures is None else signatures.problem(request.headers, raw)
            if problem is not None:
                return _error(401, problem)
            check_content_type(request.headers.get("content-type"))
            body = parse_json(raw)
        except BodyRefused as exc:
            return _error(exc.status, exc.message)
        event = request.path_params.get("event") or request.headers.get(self.settings.event_header)
        headers = {k: v for k, v in request.headers.items() if k.lower().startswith("x-")}
        item = Incoming(
            body=body, event=event, headers=headers, idempotency_key=request.headers.get("idempotency-key")
        )
        try:
            ids = await ingress.receive(self.system, event, item)
        except ValidationFailed as exc:
            return _error(422, str(exc), entity=exc.entity, details=exc.errors)
        except BaseException:
            if signatures is not None:  # not stored: the sender's retry of the same request is welcome
                signatures.release(request.headers, raw)
            raise
        if not ids and event is None:
            return _error(
                404,
                f"the request names no event: POST to {self.path.rstrip('/')}/<event> "
                f"or send the {self.settings.event_header} header",
            )
        if not ids:
            return _error(404, f"no flow takes event {event!r} from system {self.system!r}")
        first = next(iter(ids.values()))
        return JSONResponse({"id": first, "ids": ids}, status_code=202)
