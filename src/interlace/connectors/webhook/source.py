"""Receives events over HTTP: check, persist durably, then answer 202 with the message ids."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from interlace.connectors.base import Connector, Incoming, Ingress, Options, Source
from interlace.connectors.webhook.settings import WebhookSettings, WebhookTrigger
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

    def _signature_problem(self, request: Request, raw: bytes) -> str | None:
        sig = self.settings.signature
        if sig is None:
            return None
        given = request.headers.get(sig.header)
        if not given:
            return f"missing signature header {sig.header}"
        signed = raw
        if sig.timestamp_header is not None:
            stamp = request.headers.get(sig.timestamp_header, "")
            try:
                age = abs(time.time() - float(stamp))
            except ValueError:
                return f"missing or bad timestamp header {sig.timestamp_header}"
            if age > sig.tolerance:
                return "signature timestamp is outside the tolerance"
            signed = stamp.encode() + b"." + raw
        expected = hmac.new(sig.secret.encode(), signed, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, given.removeprefix("sha256=")):
            return "signature does not match"
        return None

    async def _receive(self, request: Request, ingress: Ingress) -> Response:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.settings.max_body:
            return _error(413, f"body larger than {self.settings.max_body} bytes")
        raw = await request.body()
        if len(raw) > self.settings.max_body:
            return _error(413, f"body larger than {self.settings.max_body} bytes")
        problem = self._signature_problem(request, raw)
        if problem is not None:
            return _error(401, problem)
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            return _error(400, f"body is not valid JSON: {exc}")
        event = request.path_params.get("event") or request.headers.get(self.settings.event_header)
        headers = {k: v for k, v in request.headers.items() if k.lower().startswith("x-")}
        item = Incoming(
            body=body, event=event, headers=headers, idempotency_key=request.headers.get("idempotency-key")
        )
        try:
            ids = await ingress.receive(self.system, event, item)
        except ValidationFailed as exc:
            return _error(422, str(exc), entity=exc.entity, details=exc.errors)
        if not ids:
            return _error(404, f"no flow takes event {event!r} from system {self.system!r}")
        first = next(iter(ids.values()))
        return JSONResponse({"id": first, "ids": ids}, status_code=202)
