"""An entity's rules, resolved once from its config: keys, field owners, local fields, required
fields, and which systems send and receive it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from interlace.config.entities import flow_name
from interlace.config.models import Entity
from interlace.types import JSON, JSONObject


@dataclass
class EntityRules:
    name: str
    keys: list[str]
    mode: Literal["interact", "integrate"] = "integrate"
    source_of_truth: str | None = None
    owner: str | None = None
    field_owners: dict[str, str] = field(default_factory=dict)
    local: dict[str, set[str]] = field(default_factory=dict)
    required: list[str] = field(default_factory=list)
    properties: set[str] | None = None
    """The entity's fields (its schema's properties); None: every field a system sends."""
    senders: list[str] = field(default_factory=list)
    """Subscribers whose changes reach the hub (they have a trigger)."""
    receivers: list[str] = field(default_factory=list)
    """Subscribers the hub writes to (they have `deliver`)."""
    delete_flows: dict[str, str] = field(default_factory=dict)
    delete_events: dict[str, set[str]] = field(default_factory=dict)

    @classmethod
    def from_config(cls, name: str, entity: Entity, schema: JSONObject | None = None) -> EntityRules:
        schema = schema or {}
        props = schema.get("properties")
        subs = entity.subscribers
        return cls(
            name=name,
            keys=entity.keys,
            mode=entity.mode,
            source_of_truth=entity.source_of_truth,
            owner=entity.owner,
            field_owners={f: r.owner for f, r in entity.fields.items() if r.owner is not None},
            local={system: set(fields) for system, fields in entity.local.items()},
            required=[str(f) for f in schema.get("required", [])],
            properties=set(props) if isinstance(props, dict) else None,
            senders=[s for s, sub in subs.items() if sub.trigger is not None],
            receivers=[s for s, sub in subs.items() if sub.deliver is not None],
            delete_flows={
                s: flow_name(name, "delete" if sub.delete is not None else "to", s)
                for s, sub in subs.items()
                if sub.deliver is not None or sub.delete is not None
            },
            delete_events={s: set(sub.delete_events) for s, sub in subs.items()},
        )

    def owner_of(self, field_name: str) -> str | None:
        """The system whose changes to the field win: its own owner, else the source of truth."""
        return self.field_owners.get(field_name, self.source_of_truth)

    def key_of(self, values: JSONObject) -> str | None:
        """The record's key ('|' between parts of a composite key); None when a part is missing."""
        parts = [values.get(k) for k in self.keys]
        if any(p is None or p == "" for p in parts):
            return None
        return "|".join(str(p) for p in parts)

    def incoming(self, body: JSONObject, system: str) -> dict[str, JSON]:
        """The entity fields of a system's record: unknown fields and the system's local ones left out."""
        local = self.local.get(system, set())
        props = self.properties
        return {k: v for k, v in body.items() if k not in local and (props is None or k in props)}

    def outgoing(self, values: JSONObject, system: str) -> dict[str, Any]:
        """What the hub writes to a system: the golden values without that system's local fields."""
        local = self.local.get(system, set())
        return {k: v for k, v in values.items() if k not in local}

    def is_delete(self, system: str, event: str | None) -> bool:
        return event is not None and event in self.delete_events.get(system, {"delete"})

    def may_delete(self, system: str) -> bool:
        return self.source_of_truth is None or self.source_of_truth == system
