"""Receives events over HTTP: check, persist durably, then answer 202 with the message ids.

The endpoint is a plain ASGI app rather than a Starlette request handler: the webhook is the
hub's hottest path, and it needs no Request or Response objects on the way. The body is read in
chunks to its size limit, then checked (body.py, signature.py) before anything is stored.
With a `format` (x12, edifact, ...) the body is read by that codec instead of as JSON, and each
record becomes its own message.
"""

from __future__ import annotations

import hashlib
import io
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
from interlace.formats.base import Codec, jsonable
from interlace.formats.registry import codec_for

Scope = dict[str, Any]
_JSON = [(b"content-type", b"application/json")]


Answer = tuple[int, dict[str, Any], list[tuple[bytes, bytes]]]
"""What a webhook answers: status, JSON body, headers beside content-type and content-length."""


def _refused(status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]] | None = None) -> Answer:
    return status, body, headers or []


async def _send(send: Any, answer: Answer) -> None:
    status, body, headers = answer
    payload = orjson.dumps(body)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*_JSON, *headers, (b"content-length", str(len(payload)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def _event_of(body: Any) -> str | None:
    """The event of a record without one from the request: `acknowledgement` for the replies an
    EDI codec makes, else the set or message type (850, 997, ORDERS)."""
    if not isinstance(body, dict):
        return None
    if body.get("kind") == "acknowledgement":
        return "acknowledgement"
    kind = body.get("set") or body.get("message")
    return str(kind) if kind else None


class _Endpoint:
    """A webhook path as a raw ASGI app (Starlette wraps a plain function as a request handler),
    and as a direct endpoint (web/protocol.py): the request's scope and whole body in, the
    answer out, with no ASGI messages between."""

    def __init__(self, connector: WebhookConnector, ingress: Ingress) -> None:
        self.connector = connector
        self.ingress = ingress
        self.max_body = connector.settings.max_body

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        connector = self.connector
        limit = self.max_body
        try:
            length = next((v for k, v in scope["headers"] if k == b"content-length"), None)
            if length is not None and length.isdigit() and int(length) > limit:
                return await _send(send, self.too_large())
            raw = await read_body(receive, limit)
        except BodyRefused as exc:
            return await _send(send, _refused(exc.status, {"error": exc.message}))
        await _send(send, await connector.answer(scope, raw, self.ingress))

    def too_large(self) -> Answer:
        refused = too_large(self.max_body)
        return _refused(refused.status, {"error": refused.message})

    async def answer(self, scope: Scope, raw: bytes) -> Answer:
        return await self.connector.answer(scope, raw, self.ingress)


class WebhookConnector(Connector):
    name: ClassVar[str] = "webhook"
    settings_model: ClassVar[type[Options]] = WebhookSettings
    source_options: ClassVar[type[Options] | None] = WebhookTrigger
    listens: ClassVar[bool] = True
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

    @cached_property
    def codec(self) -> Codec | None:
        """The codec of `format`, when bodies are not JSON."""
        return None if self.settings.format is None else codec_for(self.settings.format)

    async def _records(self, scope: Scope, headers: dict[str, str], raw: bytes, ingress: Ingress) -> Answer:
        """A body in the system's format: each good record a message of the flows its event picks
        (keyed by the body's digest, or the Idempotency-Key, and its number: a retried body is not
        stored twice); the bad ones listed in the answer. 400 when no record could be read."""
        assert self.codec is not None
        event = scope.get("path_params", {}).get("event") or headers.get(self._event_header)
        digest = hashlib.blake2b(raw, digest_size=16).hexdigest()
        given = headers.get("idempotency-key")
        base = given or digest
        ids: dict[str, dict[str, str]] = {}
        refused: list[dict[str, Any]] = []
        unrouted: list[int] = []
        for record in self.codec.read(io.BytesIO(raw), name="body"):
            if record.error is not None:
                refused.append({"record": record.number, "field": record.error.field, "error": record.error.reason})
                continue
            body = jsonable(record.value)
            kind = _event_of(body)
            item = Incoming(
                body=body,
                event=event or kind,
                headers={k: v for k, v in headers.items() if k.startswith("x-")},
                idempotency_key=f"{base}:{record.number}",
                fingerprint=digest if given is not None else None,
            )
            try:
                stored = await ingress.receive(self.system, item.event, item)
            except Backpressure as exc:
                retry = str(max(1, round(exc.retry_after))).encode()
                answer = {"error": str(exc), "ids": ids, "refused": refused}
                return _refused(429, answer, [(b"retry-after", retry)])
            except ValidationFailed as exc:
                refused.append({"record": record.number, "error": str(exc), "details": exc.errors})
                continue
            except IdempotencyConflict as exc:
                return _refused(409, {"error": str(exc), "message_id": exc.message_id})
            if stored:
                ids[str(record.number)] = stored
            else:
                unrouted.append(record.number)
        if not ids and refused:
            return _refused(400, {"error": "no record of the body could be read", "refused": refused})
        if not ids:
            return _refused(404, {"error": "no flow takes the body's records", "records": unrouted})
        return 202, {"ids": ids, "refused": refused, "unrouted": unrouted}, []

    async def answer(self, scope: Scope, raw: bytes, ingress: Ingress) -> Answer:
        """The answer to a request with body `raw` (read whole, at most `max_body` bytes): check
        its signature and body, store it (202 once it is durable), or say why not."""
        raw_headers: list[tuple[bytes, bytes]] = scope["headers"]
        # one pass over the raw headers (ASGI names them in lower case): `headers` keeps the first
        # of a repeated header, as starlette's Headers.get does; the message keeps the sender's
        # own (x-) headers and its trace (traceparent goes on, observability/tracing.py)
        headers: dict[str, str] = {}
        kept: dict[str, str] = {}
        for k, v in raw_headers:
            name, value = k.decode("latin-1"), v.decode("latin-1")
            headers.setdefault(name, value)
            if k.startswith(b"x-") or k == b"traceparent":
                kept[name] = value
        signatures = self.signatures
        try:
            problem = None if signatures is None else signatures.problem(Headers(scope=scope), raw)
            if problem is not None:
                return _refused(401, {"error": problem})
            if self.codec is not None:
                return await self._records(scope, headers, raw, ingress)
            check_content_type(headers.get("content-type"))
            body = parse_json(raw)
        except BodyRefused as exc:
            return _refused(exc.status, {"error": exc.message})
        event = scope.get("path_params", {}).get("event") or headers.get(self._event_header)
        key = headers.get("idempotency-key")
        item = Incoming(
            body=body,
            event=event,
            headers=kept,
            idempotency_key=key,
            fingerprint=hashlib.blake2b(raw, digest_size=16).hexdigest() if key is not None else None,
        )
        try:
            ids = await ingress.receive(self.system, event, item)
        except BaseException as exc:
            if signatures is not None:  # not stored: the sender's retry of the same request is welcome
                signatures.release(Headers(scope=scope), raw)
            if isinstance(exc, ValidationFailed):
                return _refused(422, {"error": str(exc), "entity": exc.entity, "details": exc.errors})
            if isinstance(exc, Backpressure):
                retry = str(max(1, round(exc.retry_after))).encode()
                return _refused(429, {"error": str(exc)}, [(b"retry-after", retry)])
            if isinstance(exc, IdempotencyConflict):
                return _refused(409, {"error": str(exc), "message_id": exc.message_id})
            raise
        if not ids and event is None:
            names = f"POST to {self.path.rstrip('/')}/<event> or send the {self.settings.event_header} header"
            return _refused(404, {"error": f"the request names no event: {names}"})
        if not ids:
            return _refused(404, {"error": f"no flow takes event {event!r} from system {self.system!r}"})
        first = next(iter(ids.values()))
        return 202, {"id": first, "ids": ids}, []
