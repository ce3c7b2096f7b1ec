from __future__ import annotations

from typing import Literal

from pydantic import Field

from interlace.connectors.base import Options


class Signature(Options):
    scheme: Literal["hmac-sha256"] = "hmac-sha256"
    secret: str = Field(description="Shared secret; use ${env:NAME}.")
    header: str = "X-Signature"
    timestamp_header: str | None = Field(
        None, description="When set, the signed text is '<timestamp>.<body>' and old timestamps are refused."
    )
    tolerance: int = Field(300, description="Seconds a signed timestamp stays acceptable.")


class WebhookSettings(Options):
    path: str | None = Field(None, description="URL path; default /hooks/<system>. /<event> may follow it.")
    event_header: str = Field("X-Event", description="Header naming the event, when the path does not.")
    max_body: int = Field(1_048_576, description="Largest accepted body, in bytes.")
    signature: Signature | None = None


class WebhookTrigger(Options):
    """A webhook trigger needs nothing beyond `system` and `event`."""
