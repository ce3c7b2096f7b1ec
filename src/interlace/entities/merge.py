"""Merging one system's change into a golden record, field by field. Pure: no I/O.

The rules, for each field the change carries:
- a value the hub itself wrote to that system and has not yet seen come back is our own write
  returning (an echo): it is not a change;
- a value equal to the golden one is not a change;
- a report older than the field's value, or than the same system's latest report, is stale and
  ignored (unless it is the owner's and the value is not), so a late echo or a reordered retry
  cannot undo a newer change;
- the field's owner (its own, else the entity's source of truth) always wins; any system may fill
  a field its owner has not set; a non-owner changing an owner-set field is a conflict, and the
  golden value stays;
- a non-owner's empty value (null) never clears a value: that system just lacks it, and is sent it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from interlace.backends.base import FieldSource, GoldenRecord
from interlace.entities.rules import EntityRules
from interlace.types import JSON, JSONObject

SENT_KEPT = 8
"""Values remembered per system and field while waiting for their echo."""


@dataclass
class Change:
    """One system's view of one record, in the entity's shape."""

    system: str
    values: dict[str, JSON]
    change_id: str
    message_id: str
    at: float
    approved: frozenset[str] = frozenset()
    """Fields the entity's owner approved (a conflict retried): applied as if by their owner."""


@dataclass
class Conflict:
    field: str
    system: str
    value: JSON
    golden: JSON
    owner: str

    def as_json(self) -> JSONObject:
        return {"field": self.field, "system": self.system, "value": self.value, "golden": self.golden,
                "owner": self.owner}  # fmt: skip


@dataclass
class Merged:
    record: GoldenRecord
    """The new state; its version is one more than before."""
    accepted: dict[str, JSON] = field(default_factory=dict)
    conflicts: list[Conflict] = field(default_factory=list)
    overridden: list[Conflict] = field(default_factory=list)
    """An owner's value replaced a different value another system had filled in."""
    echoes: list[str] = field(default_factory=list)
    confirmed: list[str] = field(default_factory=list)
    """The owner reported the value another system had filled in: now the owner's."""
    missing: list[str] = field(default_factory=list)
    sent_changed: bool = False
    behind: list[str] = field(default_factory=list)
    """Fields where the reporting system keeps a value other than the golden one (a conflict, a
    value it lacks), with nothing on its way to it: it is sent the golden record."""
    stale: bool = False
    """The system had already reported the record later than this: nothing is taken from it."""

    @property
    def changed(self) -> bool:
        """Whether the record must be written (anything but a no-op)."""
        return bool(self.accepted or self.conflicts or self.confirmed or self.sent_changed or self.behind)


def new_record(rules: EntityRules, key: str) -> GoldenRecord:
    return GoldenRecord(rules.name, key, status="incomplete")


def merge(rules: EntityRules, key: str, current: GoldenRecord | None, change: Change) -> Merged:
    base = current if current is not None else new_record(rules, key)
    record = GoldenRecord(
        rules.name,
        key,
        dict(base.values),
        dict(base.provenance),
        copy.deepcopy(base.sent),
        base.status,
        base.version + 1,
        base.merged_into,
        change.at,
        dict(base.seen),
    )
    out = Merged(record)
    if change.at < record.seen.get(change.system, 0.0):
        out.stale = True  # this system already told us something newer about the record
        return out
    record.seen[change.system] = change.at
    pending_of = record.sent.get(change.system, {})
    for name, value in change.values.items():
        pending = pending_of.get(name)
        if pending:
            out.sent_changed = True
            if value in pending:  # our own write coming back (maybe an older one: later ones stay pending)
                del pending[: pending.index(value) + 1]
                out.echoes.append(name)
                continue
            del pending_of[name]  # the system says something else: it is no longer waiting for us
        _merge_field(rules, out, change, name, value)
    record.sent = {s: {f: v for f, v in fields.items() if v} for s, fields in record.sent.items()}
    record.sent = {s: fields for s, fields in record.sent.items() if fields}
    out.missing = [f for f in rules.required if record.values.get(f) is None]
    if record.status in ("complete", "incomplete"):
        record.status = "incomplete" if out.missing else "complete"
    return out


def _merge_field(rules: EntityRules, out: Merged, change: Change, name: str, value: JSON) -> None:
    record = out.record
    source = record.provenance.get(name)
    owner = rules.owner_of(name)
    here = FieldSource(change.system, change.at, change.message_id)
    if name in record.values and record.values[name] == value:
        if owner == change.system and source is not None and source.system != owner:
            record.provenance[name] = here
            out.confirmed.append(name)
        return
    if source is not None and source.at > change.at and not (owner == change.system != source.system):
        return  # a report older than the value we hold (a late echo, a reordered retry): stale
    if value is None and owner != change.system and record.values.get(name) is not None:
        out.behind.append(name)  # a system that lacks the value is not clearing it: it gets it
        return
    owner_has_spoken = source is not None and owner is not None and source.system == owner
    if owner is None or owner == change.system or name in change.approved or not owner_has_spoken:
        if owner == change.system and source is not None and source.system != owner and name in record.values:
            out.overridden.append(Conflict(name, source.system, record.values[name], value, owner))
        record.values[name] = value
        record.provenance[name] = here
        out.accepted[name] = value
        return
    assert owner is not None
    out.conflicts.append(Conflict(name, change.system, value, record.values.get(name), owner))
    out.behind.append(name)


def note_sent(record: GoldenRecord, system: str, values: JSONObject) -> None:
    """Remember values written to a system, so that their echo is recognised."""
    fields = record.sent.setdefault(system, {})
    for name, value in values.items():
        pending = fields.setdefault(name, [])
        if not pending or pending[-1] != value:
            pending.append(value)
            del pending[:-SENT_KEPT]
