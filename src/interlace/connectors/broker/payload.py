"""Bodies to bytes and back, and destinations (topics, subjects, routing keys) filled from a body.

A broker carries bytes; a hub message carries JSON. `format: json` (the default) sends the body as
JSON and reads a payload as JSON; `text` sends a string body as UTF-8 (anything else as JSON) and
reads a payload as a string; `bytes` reads a payload as base64 text (for binary payloads) and sends
a string body as the bytes it decodes to.

A payload that does not decode is not dropped: it becomes a string body (its text, or base64 when
it is not UTF-8) with the header `x-interlace-undecodable` saying why, so a flow's `validate` step
parks it as an exception with its reason, and the broker's copy is acknowledged like any other.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any, Literal

import orjson

from interlace.errors import DeliveryError
from interlace.types import JSON

Format = Literal["json", "text", "bytes"]
UNDECODABLE = "x-interlace-undecodable"


def encode(body: JSON, fmt: Format) -> bytes:
    if fmt == "text" and isinstance(body, str):
        return body.encode()
    if fmt == "bytes" and isinstance(body, str):
        try:
            return base64.b64decode(body, validate=True)
        except ValueError as exc:
            raise DeliveryError(f"format bytes: the body is not base64: {exc}", retryable=False) from None
    try:
        return orjson.dumps(body)
    except TypeError as exc:
        raise DeliveryError(f"the body is not JSON: {exc}", retryable=False) from None


def decode(payload: bytes, fmt: Format) -> tuple[JSON, dict[str, str]]:
    """The body a payload stands for, and the headers saying it did not decode (else empty)."""
    if fmt == "bytes":
        return base64.b64encode(payload).decode(), {}
    try:
        text = payload.decode()
    except UnicodeDecodeError:
        return base64.b64encode(payload).decode(), {UNDECODABLE: "not UTF-8 text: the body is its base64"}
    if fmt == "text":
        return text, {}
    try:
        return orjson.loads(payload), {}
    except orjson.JSONDecodeError as exc:
        return text, {UNDECODABLE: f"not JSON ({exc}): the body is its text"}


def digest(payload: bytes, headers: dict[str, str] | None = None) -> str:
    """A short digest of what arrived, for `dedupe: content` and idempotency fingerprints."""
    h = hashlib.blake2b(payload, digest_size=16)
    for key in sorted(headers or {}):
        h.update(b"\0" + key.encode() + b"\0" + str((headers or {})[key]).encode())
    return h.hexdigest()


_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}")


def has_fields(template: str) -> bool:
    return _FIELD.search(template) is not None


def render(template: str, body: JSON, *, forbidden: str = "", what: str = "destination") -> str:
    """Fill `{field}` (dotted for nested fields) from the body. A value holding one of the
    `forbidden` characters (a wildcard, a level separator) is refused: it would change where the
    message goes, not just name it."""

    def value(match: re.Match[str]) -> str:
        current: Any = body
        for part in match.group(1).split("."):
            if not isinstance(current, dict) or part not in current:
                raise DeliveryError(f"{what} field {match.group(1)!r} is not in the message", retryable=False)
            current = current[part]
        text = str(current)
        bad = sorted({c for c in text if c in forbidden})
        if bad or not text:
            why = f"holds {''.join(bad)!r}" if bad else "is empty"
            raise DeliveryError(f"{what} field {match.group(1)!r} {why}: {text[:50]!r}", retryable=False)
        return text

    return _FIELD.sub(value, template)
