from __future__ import annotations

from typing import Literal

from pydantic import Field

from interlace.connectors.base import Options
from interlace.formats.config import FormatConfig


class Signature(Options):
    scheme: Literal["hmac-sha256"] = "hmac-sha256"
    secret: str = Field(description="Shared secret; use ${env:NAME}.")
    header: str = "X-Signature"
    timestamp_header: str | None = Field(
        None,
        description="When set (strongly recommended), the signed text is '<timestamp>.<body>' and old "
        "timestamps are refused; without it a replay is refused only within `tolerance` of its first use.",
    )
    tolerance: int = Field(300, gt=0, description="Seconds a signed timestamp (or a seen signature) stays acceptable.")
    max_skew: float = Field(30, ge=0, description="Seconds a timestamp may be ahead of the hub's clock.")
    replay_cache: int = Field(
        100_000, ge=1, description="Accepted signatures remembered (per process) to refuse replays."
    )


class WebhookSettings(Options):
    path: str | None = Field(None, description="URL path; default /hooks/<system>. /<event> may follow it.")
    event_header: str = Field("X-Event", description="Header naming the event, when the path does not.")
    max_body: int = Field(1_048_576, description="Largest accepted body, in bytes.")
    signature: Signature | None = None
    format: FormatConfig | None = Field(
        None,
        description="Read bodies in this format instead of JSON (x12, edifact, csv, xml, ...): each record of a "
        "body becomes its own message; the event is the request's, else the record's set or message type.",
    )


class WebhookTrigger(Options):
    """A webhook trigger needs nothing beyond `system` and `event`."""
