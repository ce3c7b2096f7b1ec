"""What a merged change leads to: the golden write, the deliveries to other systems, the set-back
of a conflicting system, and the exceptions for the entity's owner. Pure: no I/O."""

from __future__ import annotations

import hashlib
import json

from interlace.backends.base import GoldenChange, GoldenRecord, GoldenWrite, NewWork, ParkedException
from interlace.config.entities import flow_name
from interlace.engine.steps import Drop, Effects, Outcome
from interlace.entities.merge import Change, Merged, merge, note_sent
from interlace.entities.rules import EntityRules
from interlace.message import Message
from interlace.types import JSON

APPROVED = "interlace-approved"
"""Header of a retried conflict: the fields its owner accepted. Webhooks pass on only `X-`
headers, so a sender cannot set it."""


def change_id(message: Message) -> str:
    """Names a change: the same message redelivered is the same change; a parked one retried
    with an edited body is a new one."""
    digest = hashlib.sha256(json.dumps(message.body, sort_keys=True, default=str).encode()).hexdigest()
    return f"{message.id}#{digest[:16]}"


def change_of(message: Message, system: str, values: dict[str, JSON]) -> Change:
    approved = frozenset(f for f in message.headers.get(APPROVED, "").split(",") if f)
    return Change(system, values, change_id(message), message.id, message.created_at, approved)


class Planner:
    """Turns one incoming change of one entity into its effects."""

    def __init__(self, rules: EntityRules, origin: str, position: int, stage: str) -> None:
        self.rules = rules
        self.origin = origin
        self.position = position
        self.stage = stage

    # -- deliveries --------------------------------------------------------------------
    def deliver(
        self, message: Message, record: GoldenRecord, systems: list[str], *, delete: bool = False
    ) -> list[NewWork]:
        out = []
        for system in systems:
            body = self.rules.outgoing(record.values, system)
            flow = self.rules.delete_flows[system] if delete else flow_name(self.rules.name, "to", system)
            child = message.child(f"to:{system}", body, flow=flow)
            child.event, child.key = ("delete" if delete else "upsert"), record.key
            if not delete and system in self.rules.senders:
                note_sent(record, system, body)
            out.append(NewWork(child))
        return out

    def others(self) -> list[str]:
        return [s for s in self.rules.receivers if s != self.origin]

    def park(self, message: Message, reason: str, *, hold: str | None = None) -> ParkedException:
        held = (self.rules.name, hold) if hold is not None else None
        return ParkedException(message, self.position, self.stage, self.rules.owner, reason, held)

    # -- a change ----------------------------------------------------------------------
    def change(self, message: Message, key: str, current: GoldenRecord | None, change: Change) -> Outcome:
        if current is not None and current.status == "merged":
            return Effects(exceptions=[self.park(message, f"{self.origin} changed {key}, which was merged into "
                                                          f"{current.merged_into}; change it there")])  # fmt: skip
        revived = current is not None and current.status == "deleted"
        if revived and not self.rules.may_delete(self.origin):
            reason = f"{self.origin} changed {key}, which {self.rules.source_of_truth} deleted"
            return Effects(exceptions=[self.park(message, reason)])
        merged = merge(self.rules, key, None if revived else current, change)
        if revived:
            assert current is not None
            merged.record.version = current.version + 1
        if merged.stale:
            return Drop(f"stale: {self.origin} has reported {key} since")
        if not merged.changed:
            return Drop(f"no change: {key} equals the golden record")
        return self._effects(message, key, current, merged, revived)

    def _effects(
        self, message: Message, key: str, current: GoldenRecord | None, merged: Merged, revived: bool
    ) -> Effects:
        record = merged.record
        was_complete = current is not None and current.status == "complete" and not revived
        effects = Effects()
        if record.status == "complete":
            if merged.accepted:  # (a record that just became complete goes out whole, too)
                effects.outputs += self.deliver(message, record, self.others())
        elif merged.accepted and (current is None or current.status != "incomplete" or revived):
            missing = ", ".join(merged.missing)
            effects.exceptions.append(self.park(
                message,
                f"held: {self.rules.name} {key} lacks required {missing}; it is released when a later "
                "change brings it, or retry this with an edited body",
                hold=key,
            ))  # fmt: skip
        if merged.conflicts:
            effects.exceptions.append(self._conflict(message, key, merged))
        if merged.behind and self.origin in self.rules.receivers and record.status == "complete":
            effects.outputs += self.deliver(message, record, [self.origin])  # set the system back (or fill it in)
        detail: dict[str, JSON] = {"accepted": merged.accepted}
        if merged.conflicts:
            detail["conflicts"] = [c.as_json() for c in merged.conflicts]
        if merged.echoes:
            detail["echoes"] = merged.echoes
        if merged.behind:
            detail["sent_back"] = merged.behind
        kind = _kind(merged)
        history = GoldenChange(self.rules.name, key, change_id(message), self.origin, kind, detail, record.updated_at)
        release = record.status == "complete" and current is not None and current.status == "incomplete"
        expected = current.version if current is not None else 0
        effects.golden.append(GoldenWrite(record, expected, history, release_held=release))
        effects.summary = {
            "key": key,
            "status": record.status,
            "accepted": sorted(merged.accepted),
            "conflicts": [c.field for c in merged.conflicts],
            "echoes": merged.echoes,
            "to": [w.message.flow for w in effects.outputs],
            "was_complete": was_complete,
        }
        return effects

    def _conflict(self, message: Message, key: str, merged: Merged) -> ParkedException:
        parts = [
            f"{c.field}: {c.system} says {json.dumps(c.value, default=str)}, golden (owner {c.owner}) "
            f"is {json.dumps(c.golden, default=str)}"
            for c in merged.conflicts
        ]
        setback = f"; {self.origin} is set back" if self.origin in self.rules.receivers else ""
        reason = (
            f"conflict on {self.rules.name} {key}: " + "; ".join(parts) + setback
            + f". Discard to keep the golden value; retry to accept {self.origin}'s"
        )  # fmt: skip
        fields = [c.field for c in merged.conflicts]
        body = {k: message.body.get(k) for k in self.rules.keys} | {c.field: c.value for c in merged.conflicts}
        parked = message.child("conflict", body)
        parked.headers[APPROVED] = ",".join(fields)
        return self.park(parked, reason)

    # -- a delete ----------------------------------------------------------------------
    def delete(self, message: Message, key: str, current: GoldenRecord | None) -> Outcome:
        if current is None or current.status in ("deleted", "merged"):
            return Drop(f"{key} is not in the golden record (or already deleted)")
        if not self.rules.may_delete(self.origin):
            reason = (
                f"{self.origin} deleted {self.rules.name} {key}, but only {self.rules.source_of_truth} may "
                "delete it; the golden record is kept"
            )
            return Effects(exceptions=[self.park(message, reason)])
        record = GoldenRecord(
            current.entity, key, dict(current.values), dict(current.provenance), {}, "deleted",
            current.version + 1, None, message.created_at,
        )  # fmt: skip
        outputs = self.deliver(message, record, self.others(), delete=True)
        history = GoldenChange(self.rules.name, key, change_id(message), self.origin, "deleted", {}, message.created_at)
        return Effects(
            outputs=outputs,
            golden=[GoldenWrite(record, current.version, history)],
            summary={"key": key, "status": "deleted", "to": [w.message.flow for w in outputs]},
        )


def _kind(merged: Merged) -> str:
    """The history line's headline for a change."""
    if merged.accepted:
        return "applied" if merged.record.status == "complete" else "held"
    if merged.conflicts:
        return "conflict"
    if merged.confirmed:
        return "confirmed"
    if merged.behind:
        return "sent back"
    return "echo"
