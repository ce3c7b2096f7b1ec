"""A webhook body, read and parsed at the door: streamed to a size limit, then JSON within limits.

Three small functions, each refusing with one error type that carries the HTTP status to answer:
- `read_body`: the body's bytes, read chunk by chunk and stopped as soon as they pass `limit`
  (a chunked body has no Content-Length to check first): 413;
- `check_content_type`: `application/json` or `application/<anything>+json`, charset UTF-8 if
  one is given: 415;
- `parse_json`: the value, if it is JSON (400) within the limits of `formats/limits.py`: nesting
  at most `max_depth`, finite numbers, 64-bit integers (422).
"""

from __future__ import annotations

from starlette.requests import ClientDisconnect, Request
from starlette.types import Receive

from interlace.errors import InterlaceError
from interlace.formats.jsontext import JsonRefused, loads
from interlace.formats.limits import MAX_DEPTH
from interlace.types import JSON


class BodyRefused(InterlaceError):
    """A body the webhook will not take: `status` is the HTTP status to answer, `message` says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def __repr__(self) -> str:
        return f"BodyRefused({self.status}, {self.message!r})"


def too_large(limit: int) -> BodyRefused:
    return BodyRefused(413, f"body larger than {limit} bytes")


async def read_body(receive_or_request: Request | Receive, limit: int) -> bytes:
    """The request body, at most `limit` bytes; `BodyRefused(413)` as soon as more arrive, without
    reading the rest (the server discards it). Given a starlette `Request`, a Content-Length over
    the limit is refused before anything is read; given an ASGI `receive`, only the stream counts.
    A client gone before the end of its body: `BodyRefused(400)`."""
    if isinstance(receive_or_request, Request):
        length = receive_or_request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            raise too_large(limit)
        body = bytearray()
        try:
            async for chunk in receive_or_request.stream():
                body += chunk
                if len(body) > limit:
                    raise too_large(limit)
        except ClientDisconnect:
            raise BodyRefused(400, "the client went away before the end of the body") from None
        return bytes(body)
    body = bytearray()
    while True:
        message = await receive_or_request()
        if message["type"] == "http.disconnect":
            raise BodyRefused(400, "the client went away before the end of the body")
        body += message.get("body", b"")
        if len(body) > limit:
            raise too_large(limit)
        if not message.get("more_body", False):
            return bytes(body)


def check_content_type(value: str | None) -> None:
    """Nothing if `value` (a Content-Type header) names JSON: `application/json` or
    `application/*+json`, parameters allowed, charset UTF-8 if given; `BodyRefused(415)` otherwise."""
    if not value:
        raise BodyRefused(415, "a JSON body needs Content-Type: application/json")
    media, _, params = value.partition(";")
    kind, _, subtype = media.strip().lower().partition("/")
    if kind != "application" or not (subtype == "json" or (subtype.endswith("+json") and len(subtype) > 5)):
        raise BodyRefused(415, f"Content-Type {media.strip()!r} is not JSON (application/json or application/*+json)")
    for param in params.split(";"):
        name, _, setting = param.partition("=")
        if name.strip().lower() == "charset" and setting.strip().strip('"').lower() not in ("utf-8", "utf8"):
            raise BodyRefused(415, f"a JSON body is UTF-8, not {setting.strip()}")


def parse_json(raw: bytes, *, max_depth: int = MAX_DEPTH) -> JSON:
    """The value of a JSON body. `BodyRefused(400)` if it is not JSON (NaN and Infinity are not),
    `BodyRefused(422)` if it is nested deeper than `max_depth` or holds a number past a limit
    (`1e400`, an integer over 64 bits)."""
    try:
        return loads(raw, max_depth=max_depth)
    except JsonRefused as exc:
        if exc.limit:
            raise BodyRefused(422, f"body refused: {exc}") from None
        raise BodyRefused(400, f"body is not valid JSON: {str(exc).removeprefix('not JSON: ')}") from None
