"""Receives events over HTTP: check, persist durably, then answer 202 with the message ids.

The endpoint is a plain ASGI app rather than a Starlette request handler: the webhook is the
hub's hottest path, and it needs no Request or Response objects on the way. The body is read in
chunks to its size limit, then checked (body.py, signature.py) before anything is stored.
"""

from __future__ import annotations

import hashlib
from functools import cached_property
from typing import Any, ClassVar

import orjson
from starlette.datastructures import Headers
from starlette.routing import BaseRoute, Route

from interlace.connectors.base import Connector, Incoming, Ingress, Options, Source
from interlace.connectors.webhook.body import BodyRefused, check_content_type, parse_json, read_body, too_large
from interlace.connectors.webhook.settings import WebhookSettings, WebhookTrigger
from interlace.connectors.webhook.signature import SignatureCheck
from interlace.errors import Backpressure, IdempotencyConflict, ValidationFailed

Scope = dict[str, Any]
_JSON = [(b"content-type", b"application/json")]


async def _answer(send: Any, status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]] = _JSON) -> None:
    payload = orjson.dumps(body)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(payload)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class _Endpoint:
    """A webhook path as a raw ASGI app (Starlette wraps a plain function as a request handler)."""

    def __init__(self, connector: WebhookConnector, ingress: Ingress) -> None:
        self.connector = connector
        self.ingress = ingress

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        await self.connector._receive(scope, receive, send, self.ingress)


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
        endpoint = _Endpoint(self, ingress)
        return [
            Route(self.path, endpoint, methods=["POST"]),
            Route(self.path.rstrip("/") + "/{event}", endpoint, methods=["POST"]),
        ]

    @cached_property
    def signatures(self) -> SignatureCheck | None:
        """The system's signature rules and its memory of accepted signatures (None: unsigned)."""
        return None if self.settings.signature is None else SignatureCheck(self.settings.signature)

    @cached_property
    def _event_header(self) -> str:
        return self.settings.event_header.lower()

    async def _receive(self, scope: Scope, receive: Any, send: Any, ingress: Ingress) -> None:
        raw_headers: list[tuple[bytes, bytes]] = scope["headers"]
        # one pass over the raw headers (ASGI names them in lower case); the first of a repeated
        # header counts, as with starlette's Headers.get
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in reversed(raw_headers)}
        signatures = self.signatures
        limit = self.settings.max_body
        try:
            length = headers.get("content-length")
            if length is not None and length.isdigit() and int(length) > limit:
                raise too_large(limit)
            raw = await read_body(receive, limit)
            problem = None if signatures is None else signatures.problem(Headers(scope=scope), raw)
            if problem is not None:
                return await _answer(send, 401, {"error": problem})
            check_content_type(headers.get("content-type"))
            body = parse_json(raw)
        except BodyRefused as exc:
            return await _answer(send, exc.status, {"error": exc.message})
        event = scope.get("path_params", {}).get("event") or headers.get(self._event_header)
        key = headers.get("idempotency-key")
        item = Incoming(
            body=body,
            event=event,
            headers={
                k.decode("latin-1"): v.decode("latin-1")
                for k, v in raw_headers
                if k.startswith(b"x-") or k == b"traceparent"  # a sender's trace goes on (tracing.py)
            },
            idempotency_key=key,
            fingerprint=hashlib.blake2b(raw, digest_size=16).hexdigest() if key is not None else None,
        )
        try:
            ids = await ingress.receive(self.system, event, item)
        except BaseException as exc:
            if signatures is not None:  # not stored: the sender's retry of the same request is welcome
                signatures.release(Headers(scope=scope), raw)
            if isinstance(exc, ValidationFailed):
                return await _answer(send, 422, {"error": str(exc), "entity": exc.entity, "details": exc.errors})
            if isinstance(exc, Backpressure):
                retry = str(max(1, round(exc.retry_after))).encode()
                return await _answer(send, 429, {"error": str(exc)}, [*_JSON, (b"retry-after", retry)])
            if isinstance(exc, IdempotencyConflict):
                return await _answer(send, 409, {"error": str(exc), "message_id": exc.message_id})
            raise
        if not ids and event is None:
            names = f"POST to {self.path.rstrip('/')}/<event> or send the {self.settings.event_header} header"
            return await _answer(send, 404, {"error": f"the request names no event: {names}"})
        if not ids:
            return await _answer(send, 404, {"error": f"no flow takes event {event!r} from system {self.system!r}"})
        first = next(iter(ids.values()))
        return await _answer(send, 202, {"id": first, "ids": ids})
