"""Sync cycles: flows that carry the same record round a loop of systems (A -> B -> A) with no
source of truth to say which side wins. A flow's record is the entity its first `validate` names.
"""

from __future__ import annotations

from collections import deque

from interlace.config.models import Flow
from interlace.readiness.context import Context
from interlace.readiness.finding import Finding


def check(ctx: Context) -> list[Finding]:
    cfg = ctx.loaded.config
    groups: dict[str | None, dict[str, Flow]] = {}
    for name, flow in cfg.flows.items():
        if flow.trigger.system is not None and flow.deliver:
            entities = ctx.flow_entities(flow)
            groups.setdefault(entities[0] if entities else None, {})[name] = flow
    found: list[Finding] = []
    reported: set[frozenset[str]] = set()
    for entity, flows in groups.items():
        spec = cfg.entities.get(entity) if entity is not None else None
        if spec is not None and spec.source_of_truth is not None:
            continue
        for name in flows:
            loop = _loop(name, flows)
            if loop is None or frozenset(loop) in reported:
                continue
            reported.add(frozenset(loop))
            found.append(_finding(ctx, entity, loop, flows))
    return found


def _finding(ctx: Context, entity: str | None, loop: list[str], flows: dict[str, Flow]) -> Finding:
    route = " -> ".join(f"{flows[f].trigger.system} ({f})" for f in loop) + f" -> {flows[loop[0]].trigger.system}"
    if entity is None:
        return ctx.finding(
            "sync-cycle",
            ("flows", loop[0]),
            f"flows {', '.join(loop)} carry records round a loop: {route}; they validate no entity, so no "
            "source of truth can say which side wins",
            severity="warning",
            fix="Validate the record's entity in each flow and give that entity a source_of_truth.",
        )
    return ctx.finding(
        "sync-cycle",
        ("entities", entity),
        f"entity {entity!r} has no source_of_truth, yet flows {', '.join(loop)} carry it round a loop: {route}",
    )


def _loop(start: str, flows: dict[str, Flow]) -> list[str] | None:
    """The flows of a loop starting with `start` and coming back to its trigger system, if any."""
    home = flows[start].trigger.system
    queue: deque[list[str]] = deque([[start]])
    while queue:
        path = queue.popleft()
        reached = {d.system for d in flows[path[-1]].deliver}
        if home in reached:
            return path
        for name, flow in flows.items():
            if name not in path and flow.trigger.system in reached:
                queue.append([*path, name])
    return None
