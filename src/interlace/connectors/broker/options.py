"""Settings every broker connector shares: durations, and what any broker trigger may say."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

from interlace.connectors.base import Options
from interlace.connectors.broker.payload import Format
from interlace.options import parse_duration

Seconds = Annotated[float, BeforeValidator(lambda v: parse_duration(v, positive=True))]
"""A positive duration (`500ms`, `5s`, `2m`), held as seconds."""


class BrokerTrigger(Options):
    """What every broker trigger may say besides where it reads."""

    format: Format = Field("json", description="How payloads are read: json, text, or bytes (as base64).")
    batch: int = Field(100, ge=1, le=10_000, description="Most messages committed to the store together.")
    dedupe: Literal["auto", "content", "none"] = Field(
        "auto",
        description="How a message delivered twice (after a crash between commit and ack) is recognised: auto,"
        " by the broker's own message id where the protocol has one; content, by a digest of payload and"
        " headers; none, not at all (at-least-once).",
    )


class BrokerDelivery(Options):
    """What every broker delivery may say besides where it publishes."""

    format: Format = Field("json", description="How bodies are sent: json, text (a string body as is), or bytes.")
    headers: dict[str, str] = Field(
        default_factory=dict, description="Headers (or user properties) sent with every message; {field} fills."
    )
