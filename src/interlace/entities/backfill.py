"""Building golden records from the systems' current data (`interlace backfill`): the step that
moves an entity from interact to integrate while the systems keep working.

Systems are read one after the other (the source of truth first), page by page in key order.
Each page is merged into the golden records with the same rules as live changes, and written
together with the cursor (system, position) in one transaction: an interrupted backfill resumes
after the last page written, and never applies a page twice. A field where systems disagree is a
conflict, reported at the end (and kept in the records' history)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from interlace.backends.base import Backend, GoldenChange, GoldenRecord, GoldenWrite
from interlace.entities.merge import Change, merge
from interlace.entities.readers import Reader
from interlace.entities.rules import EntityRules
from interlace.types import JSON, JSONObject

Progress = Callable[[str, int], None]
"""Called with (system, records read) after each page."""


def cursor_name(entity: str) -> str:
    return f"backfill:{entity}"


@dataclass
class BackfillResult:
    run: str
    resumed: bool
    records: dict[str, int] = field(default_factory=dict)
    """Records read, by system (in this invocation)."""
    conflicts: list[JSONObject] = field(default_factory=list)
    """Every conflict of this run, before and after any interruption."""
    incomplete: int = 0
    """Golden records still missing required fields."""


def ordered(rules: EntityRules, readers: Sequence[Reader]) -> list[Reader]:
    """The source of truth first, then the other systems in config order."""
    return sorted(readers, key=lambda r: r.system != rules.source_of_truth)


async def backfill(
    rules: EntityRules,
    backend: Backend,
    readers: Sequence[Reader],
    *,
    batch: int = 1000,
    restart: bool = False,
    progress: Progress | None = None,
) -> BackfillResult:
    name = cursor_name(rules.name)
    state = None if restart else await backend.load_cursor(name)
    resumed = isinstance(state, dict) and not state.get("finished")
    if not resumed:
        state = {"run": uuid.uuid4().hex[:12], "done": [], "system": None, "after": None, "finished": False}
    assert isinstance(state, dict)
    result = BackfillResult(state["run"], resumed)
    for reader in ordered(rules, readers):
        if reader.system in state["done"]:
            continue
        after: JSON = state["after"] if state["system"] == reader.system else None
        result.records.setdefault(reader.system, 0)
        while True:
            rows, position = await reader.page(after, batch)
            if not rows:
                state = {**state, "done": [*state["done"], reader.system], "system": None, "after": None}
                await backend.write_golden([], cursor=(name, state))
                break
            next_state = {**state, "system": reader.system, "after": position}
            written = False
            while not written:  # False: a live change moved a record meanwhile; merge the page again
                writes = await _page_writes(rules, backend, state["run"], reader.system, rows)
                written = await backend.write_golden(writes, cursor=(name, next_state))
            state, after = next_state, position
            result.records[reader.system] += len(rows)
            if progress is not None:
                progress(reader.system, len(rows))
    await backend.write_golden([], cursor=(name, {**state, "finished": True}))
    for line in await backend.golden_history(rules.name, kind="conflict", prefix=f"backfill:{state['run']}:"):
        for conflict in line.detail.get("conflicts", []):
            result.conflicts.append({"key": line.key, **conflict})
    result.incomplete = await _count_incomplete(backend, rules.name)
    return result


async def _count_incomplete(backend: Backend, entity: str) -> int:
    count, after = 0, None
    while page := await backend.golden_page(entity, after, 5000):
        count += sum(1 for r in page if r.status == "incomplete")
        after = page[-1].key
    return count


async def _page_writes(
    rules: EntityRules, backend: Backend, run: str, system: str, rows: list[JSONObject]
) -> list[GoldenWrite]:
    keyed: dict[str, JSONObject] = {}
    for row in rows:
        key = rules.key_of(row)
        if key is not None:
            keyed[key] = rules.incoming(row, system)
    current = await backend.golden(rules.name, list(keyed))
    now = time.time()
    writes = []
    for key, values in keyed.items():
        change_id = f"backfill:{run}:{system}:{key}"
        before: GoldenRecord | None = current.get(key)
        merged = merge(rules, key, before, Change(system, values, change_id, change_id, now))
        if not merged.changed and before is not None:
            continue
        disagreements = [c.as_json() for c in merged.conflicts + merged.overridden]
        detail: dict[str, JSON] = {"accepted": merged.accepted}
        if disagreements:
            detail["conflicts"] = disagreements
        kind = "conflict" if disagreements else "backfill"
        change = GoldenChange(rules.name, key, change_id, system, kind, detail, now)
        writes.append(GoldenWrite(merged.record, before.version if before is not None else 0, change))
    return writes
