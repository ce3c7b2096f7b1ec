"""Merging two golden records found to be the same (`interlace entity merge ENTITY KEEP DROP`).

KEEP keeps its values and gains the fields only DROP had; DROP is marked merged into KEEP (a
later change to it is parked for the owner, never applied). Every receiving system gets KEEP
whole and a delete of DROP. All of it, the records and the deliveries, is one transaction, and
running the same merge twice does nothing more."""

from __future__ import annotations

import time
from dataclasses import dataclass

from interlace.backends.base import Backend, GoldenChange, GoldenRecord, GoldenWrite, NewWork
from interlace.config.entities import flow_name
from interlace.entities.rules import EntityRules
from interlace.errors import InterlaceError
from interlace.message import Message


class MergeRefused(InterlaceError):
    """The two keys cannot be merged (one is missing, deleted, or already merged)."""


@dataclass
class DuplicateMerge:
    keep: GoldenRecord
    drop: GoldenRecord
    gained: list[str]
    deliveries: list[str]


def plan_merge(rules: EntityRules, keep: GoldenRecord, drop: GoldenRecord, *, at: float) -> DuplicateMerge:
    values, provenance = dict(keep.values), dict(keep.provenance)
    gained: list[str] = []
    for name, value in drop.values.items():
        if values.get(name) is None and value is not None and name not in rules.keys:
            values[name] = value
            gained.append(name)
            if name in drop.provenance:
                provenance[name] = drop.provenance[name]
    kept = GoldenRecord(keep.entity, keep.key, values, provenance, dict(keep.sent), keep.status, keep.version + 1,
                        None, at, dict(keep.seen))  # fmt: skip
    dropped = GoldenRecord(drop.entity, drop.key, dict(drop.values), dict(drop.provenance), {}, "merged",
                           drop.version + 1, keep.key, at)  # fmt: skip
    return DuplicateMerge(kept, dropped, gained, list(rules.receivers))


async def merge_duplicates(rules: EntityRules, backend: Backend, keep_key: str, drop_key: str) -> DuplicateMerge:
    if keep_key == drop_key:
        raise MergeRefused("KEEP and DROP are the same key")
    found = await backend.golden(rules.name, [keep_key, drop_key])
    for key in (keep_key, drop_key):
        record = found.get(key)
        if record is None:
            raise MergeRefused(f"{rules.name} {key!r} has no golden record")
        if record.status in ("deleted", "merged"):
            raise MergeRefused(f"{rules.name} {key!r} is {record.status}")
    keep, drop = found[keep_key], found[drop_key]
    plan = plan_merge(rules, keep, drop, at=time.time())
    change_id = f"merge:{drop_key}->{keep_key}"
    outputs = []
    for system in plan.deliveries:
        upsert = Message(id=f"{change_id}:{system}:keep", flow=flow_name(rules.name, "to", system),
                         source="interlace", event="upsert", key=keep_key,
                         body=rules.outgoing(plan.keep.values, system))  # fmt: skip
        delete = Message(id=f"{change_id}:{system}:drop", flow=rules.delete_flows[system],
                         source="interlace", event="delete", key=drop_key,
                         body=rules.outgoing(drop.values, system))  # fmt: skip
        outputs += [NewWork(upsert), NewWork(delete)]
    detail = {"kept": keep_key, "dropped": drop_key, "gained": plan.gained}
    kept = GoldenChange(rules.name, keep_key, change_id, "interlace", "merged", detail)
    dropped = GoldenChange(rules.name, drop_key, change_id + ":drop", "interlace", "merged", detail)
    writes = [GoldenWrite(plan.keep, keep.version, kept), GoldenWrite(plan.drop, drop.version, dropped)]
    if not await backend.write_golden(writes, outputs=outputs):
        raise MergeRefused("a record changed while merging; run the merge again")
    return plan
