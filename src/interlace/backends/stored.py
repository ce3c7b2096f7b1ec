"""How the store backends write values as text: the helpers every backend shares."""

from __future__ import annotations

import json

from interlace.backends.base import GoldenRecord
from interlace.types import JSON

GOLDEN_COLUMNS = "entity, key, version, status, data, merged_into, updated_at"


def dump(value: JSON) -> str | None:
    return None if value is None else json.dumps(value, default=str, separators=(",", ":"))


def load(text: str | None) -> JSON:
    return None if text is None else json.loads(text)


def record_data(r: GoldenRecord) -> str:
    """A golden record's values, provenance, sent and seen, as its stored `data` text."""
    provenance = {f: [p.system, p.at, p.message_id] for f, p in r.provenance.items()}
    return json.dumps({"values": r.values, "provenance": provenance, "sent": r.sent, "seen": r.seen}, default=str)


def correlation_of(message_id: str) -> str:
    """Derived messages are named `<parent>.<suffix>`: the first part is the chain's root."""
    return message_id.split(".", 1)[0]
