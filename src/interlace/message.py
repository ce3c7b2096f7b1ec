"""The message envelope that travels through flows."""

from __future__ import annotations

import dataclasses
import os
import random
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
import pydantic_core

from interlace.types import JSON

_random = random.Random()  # seeded from os.urandom
os.register_at_fork(after_in_child=lambda: _random.seed())

# orjson writes the JSON types itself and hands everything else to _other, which refuses, so that
# pydantic_core writes those values (Decimal as a string, datetime as ISO 8601 with Z, int keys as
# strings, integers past 64 bits) the way the store has always had them written.
_ORJSON = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS


def _other(value: Any) -> Any:
    raise TypeError




def new_id() -> str:
    """A new message id: 48 bits of milliseconds, then 80 random bits (uuid7-like), so ids sort by
    arrival. Ids need to be unique, not secret: a seeded generator is ~40x cheaper than uuid4."""
    ms = int(time.time() * 1000)
    return f"{ms:012x}{_random.getrandbits(80):020x}"


@dataclass(slots=True, kw_only=True)
class Message:
    """One unit of data moving through the hub.

    `id` names this message; `correlation_id` is the id of the first message of the chain
    (a split's children share it with their parent); `causation_id` is the direct parent.

    A plain slotted dataclass, not a validating model: a message is built once per request on
    the hub's hottest path (12 us as a pydantic model, 1 us as this) and written to the store as
    JSON by orjson (9 us as a model, 3 us as this). Its fields come from the hub's own code.
    """

    id: str = field(default_factory=new_id)
    flow: str
    correlation_id: str = ""
    causation_id: str | None = None
    source: str | None = None
    event: str | None = None
    key: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: JSON = None
    attempt: int = 0
    created_at: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        if not self.correlation_id:
            self.correlation_id = self.id

    def to_dict(self) -> dict[str, Any]:
        """The message as JSON values (what `to_json` writes)."""
        return orjson.loads(self.to_json())  # type: ignore[no-any-return]

    def to_json(self) -> str:
        """The message as JSON text, as the store keeps it."""
        data = {
            "id": self.id,
            "flow": self.flow,
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
            "source": self.source,
            "event": self.event,
            "key": self.key,
            "headers": self.headers,
            "body": self.body,
            "attempt": self.attempt,
            "created_at": self.created_at,
        }
        try:
            return orjson.dumps(data, default=_other, option=_ORJSON).decode()
        except TypeError:
            return pydantic_core.to_json(data).decode()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        """A message from what `to_dict` gave (fields it does not know are left out)."""
        try:
            return cls(**data)
        except TypeError:  # a field this version does not know
            return cls(**{name: data[name] for name in _FIELDS if name in data})

    @classmethod
    def from_json(cls, text: str | bytes) -> Message:
        # pydantic_core, not orjson, reads it: as fast, and an integer past 64 bits stays an integer
        return cls.from_dict(pydantic_core.from_json(text, cache_strings=False))

    def replace(self, **changes: Any) -> Message:
        """A copy with these fields changed (headers copied, the body shared)."""
        copy = dataclasses.replace(self, **changes)
        if "headers" not in changes:
            copy.headers = dict(self.headers)
        return copy

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


_FIELDS = tuple(f.name for f in dataclasses.fields(Message))
