"""The message envelope that travels through flows."""

from __future__ import annotations

import time
import uuid
from typing import Any

from pydantic import BaseModel, Field

from interlace.types import JSON


def new_id() -> str:
    """A new message id: time-ordered (uuid7-like) so ids sort by arrival."""
    ms = int(time.time() * 1000)
    rand = uuid.uuid4().int & ((1 << 80) - 1)
    return f"{ms:012x}{rand:020x}"


class Message(BaseModel):
    """One unit of data moving through the hub.

    `id` names this message; `correlation_id` is the id of the first message of the chain
    (a split's children share it with their parent); `causation_id` is the direct parent.
    """

    id: str = Field(default_factory=new_id)
    flow: str
    correlation_id: str = ""
    causation_id: str | None = None
    source: str | None = None
    event: str | None = None
    key: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    body: JSON = None
    attempt: int = 0
    created_at: float = Field(default_factory=time.time)

    def model_post_init(self, __context: Any) -> None:
        if not self.correlation_id:
            self.correlation_id = self.id

    def child(self, suffix: str, body: JSON, *, flow: str | None = None) -> Message:
        """A message derived from this one. The id is deterministic, so a redelivered
        parent yields the same children (and sinks can recognise them)."""
        return Message(
            id=f"{self.id}.{suffix}",
            flow=flow or self.flow,
            correlation_id=self.correlation_id,
            causation_id=self.id,
            source=self.source,
            event=self.event,
            key=self.key,
            headers=dict(self.headers),
            body=body,
        )
