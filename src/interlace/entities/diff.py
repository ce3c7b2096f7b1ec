"""Where the systems disagree with the golden record (`interlace entity diff`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from interlace.backends.base import Backend, GoldenRecord
from interlace.entities.readers import Reader
from interlace.entities.rules import EntityRules
from interlace.types import JSON, JSONObject

PAGE = 1000


@dataclass
class Difference:
    system: str
    key: str
    field: str | None
    """None: the whole record (missing in the system, or unknown to the hub)."""
    system_value: JSON
    golden_value: JSON
    note: str = ""

    def as_json(self) -> JSONObject:
        return asdict(self)


async def all_golden(backend: Backend, entity: str) -> dict[str, GoldenRecord]:
    out: dict[str, GoldenRecord] = {}
    after: str | None = None
    while True:
        page = await backend.golden_page(entity, after, PAGE)
        if not page:
            return out
        out.update((r.key, r) for r in page)
        after = page[-1].key


async def diff(rules: EntityRules, backend: Backend, readers: Sequence[Reader]) -> list[Difference]:
    stored = await all_golden(backend, rules.name)
    golden = {k: r for k, r in stored.items() if r.status in ("complete", "incomplete")}
    found: list[Difference] = []
    for reader in readers:
        seen: set[str] = set()
        after = None
        while True:
            rows, after = await reader.page(after, PAGE)
            if not rows:
                break
            for row in rows:
                key = rules.key_of(row)
                if key is None:
                    found.append(Difference(reader.system, "", None, row, None, "record without a key"))
                    continue
                seen.add(key)
                record = golden.get(key)
                if record is None:
                    found.append(Difference(reader.system, key, None, row, None, "not in the golden record"))
                    continue
                for name, value in rules.incoming(row, reader.system).items():
                    if name in record.values and record.values[name] != value:
                        found.append(Difference(reader.system, key, name, value, record.values[name]))
        if reader.system in rules.receivers:
            for key, record in golden.items():
                if key not in seen and record.status == "complete":
                    found.append(Difference(reader.system, key, None, None, record.values, "missing in the system"))
    return found
