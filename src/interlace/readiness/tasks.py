"""Question 5, for the decisions people take: does every task step name who decides it, by when,
and what happens when nobody does?"""

from __future__ import annotations

from interlace.config.lines import Path_
from interlace.config.models import TaskStep
from interlace.readiness.context import Context
from interlace.readiness.finding import Finding


def check(ctx: Context) -> list[Finding]:
    cfg = ctx.loaded.config
    found: list[Finding] = []
    for name, flow in cfg.flows.items():
        for i, step in enumerate(flow.steps):
            if not isinstance(step, TaskStep):
                continue
            task = step.task
            loc: Path_ = ("flows", name, "steps", i, "task")
            label = task.name or task.entity
            what = f"the task {label!r} in flow {name!r}" if label else f"the task in flow {name!r}"
            if task.owner is None:
                found.append(ctx.finding("task-no-owner", loc, f"{what} has no owner: nobody is asked to decide"))
            for j, owner in enumerate(task.chain):
                spec = cfg.owners.get(owner)
                if spec is not None and not spec.members:
                    first = task.owner is not None
                    where: Path_ = (*loc, "owner") if j == 0 and first else (*loc, "escalate", j - first)
                    problem = f"owner {owner!r} of {what} has no members: nobody may decide"
                    found.append(ctx.finding("task-owner-no-members", where, problem))
            if task.deadline is None:
                found.append(ctx.finding("task-no-deadline", loc, f"{what} has no deadline: it may wait forever"))
            elif not task.escalate and task.default is None:
                found.append(ctx.finding(
                    "task-no-escalation", loc,
                    f"{what} has a deadline of {task.deadline} but no escalate chain and no default",
                ))  # fmt: skip
    return found
