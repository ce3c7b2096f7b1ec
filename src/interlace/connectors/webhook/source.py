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

    async def _records(self, scope: Scope, headers: dict[str, str], raw: bytes, send: Any, ingress: Ingress) -> None:
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
                return await _answer(send, 429, answer, [*_JSON, (b"retry-after", retry)])
            except ValidationFailed as exc:
                refused.append({"record": record.number, "error": str(exc), "details": exc.errors})
                continue
            except IdempotencyConflict as exc:
                return await _answer(send, 409, {"error": str(exc), "message_id": exc.message_id})
            if stored:
                ids[str(record.number)] = stored
            else:
                unrouted.append(record.number)
        if not ids and refused:
            return await _answer(send, 400, {"error": "no record of the body could be read", "refused": refused})
        if not ids:
            return await _answer(send, 404, {"error": "no flow takes the body's records", "records": unrouted})
        return await _answer(send, 202, {"ids": ids, "refused": refused, "unrouted": unrouted})

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
            if self.codec is not None:
                return await self._records(scope, headers, raw, send, ingress)
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
