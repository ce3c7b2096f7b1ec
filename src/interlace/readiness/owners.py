"""Question 5: who owns the exceptions, and can they be told?"""

from __future__ import annotations

from interlace.config.lines import Path_
from interlace.readiness.context import Context
from interlace.readiness.finding import Finding


def check(ctx: Context) -> list[Finding]:
    cfg = ctx.loaded.config
    found: list[Finding] = []
    used: dict[str, list[Path_]] = {}
    for name, flow in cfg.flows.items():
        owner = flow.on_error.owner
        if owner is None:
            found.append(
                ctx.finding(
                    "failure-no-owner",
                    ("flows", name),
                    f"flow {name!r} has no on_error.owner: its exceptions are parked with nobody to tell",
                )
            )
        else:
            used.setdefault(owner, []).append(("flows", name, "on_error", "owner"))
    for name, entity in cfg.entities.items():
        if entity.owner is not None:
            used.setdefault(entity.owner, []).append(("entities", name, "owner"))
    for owner, places in used.items():
        spec = cfg.owners.get(owner)
        if spec is None or (spec.email or "").strip() or (spec.webhook or "").strip():
            continue
        who = ", ".join(".".join(str(p) for p in loc[:2]) for loc in places)
        found.append(
            ctx.finding(
                "owner-unreachable",
                ("owners", owner),
                f"owner {owner!r} (of {who}) has neither an email nor a webhook",
            )
        )
    return found
