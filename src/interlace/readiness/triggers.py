"""Question 1: which event triggers each handoff?

The schema makes every flow name a trigger; what it allows and is still unclear: a system trigger
with neither an event nor source options (a table, a file pattern) on a push system (a webhook) or
on a system several flows listen to (each such flow takes every event), and a schedule that does not
say which business moment it stands for.
"""

from __future__ import annotations

from collections import Counter

from interlace.readiness.context import Context
from interlace.readiness.finding import Finding

PUSH_CONNECTORS = {"webhook"}


def check(ctx: Context) -> list[Finding]:
    cfg = ctx.loaded.config
    listeners = Counter(f.trigger.system for f in cfg.flows.values() if f.trigger.system is not None)
    found: list[Finding] = []
    for name, flow in cfg.flows.items():
        trig = flow.trigger
        loc = ("flows", name, "trigger")
        if trig.system is not None and trig.event is None and not trig.extras:
            system = cfg.systems.get(trig.system)
            shared = listeners[trig.system] > 1
            if shared:
                found.append(
                    ctx.finding(
                        "trigger-unclear",
                        loc,
                        f"flow {name!r} takes every event of {trig.system!r}, which {listeners[trig.system]} flows "
                        "listen to: it also takes the events meant for the others",
                    )
                )
            elif system is not None and system.connector in PUSH_CONNECTORS:
                found.append(
                    ctx.finding(
                        "trigger-unclear",
                        loc,
                        f"flow {name!r} takes every event the {system.connector} {trig.system!r} sends, whatever it is",
                    )
                )
        elif trig.schedule is not None and not (flow.description or "").strip():
            found.append(
                ctx.finding(
                    "trigger-unclear",
                    loc,
                    f"flow {name!r} runs on schedule {trig.schedule!r} with no description of the business "
                    "moment it stands for",
                )
            )
    return found
