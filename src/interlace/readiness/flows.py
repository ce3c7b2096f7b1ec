"""Per flow: validation of incoming data (question 4), the expected gain (question 6), routes with
no default branch, and tests."""

from __future__ import annotations

from interlace.config.models import Flow, MapStep, PythonStep, RouteStep, SplitStep, ValidateStep
from interlace.readiness.context import Context
from interlace.readiness.finding import Finding


def check(ctx: Context) -> list[Finding]:
    found: list[Finding] = []
    for name, flow in ctx.loaded.config.flows.items():
        loc = ("flows", name)
        gain = flow.gain
        if gain is None or (gain.minutes_saved_per_message is None and gain.cost_saved_per_message is None):
            found.append(ctx.finding("no-gain", loc, f"flow {name!r} declares no minutes or cost saved per message"))
        # A bulk trigger moves chunks of rows with no steps: the target table's types are its
        # validation, and there is no per-message behaviour for a flow test to pin down.
        bulk = bool(flow.trigger.extras.get("bulk"))
        if not bulk and not _validates_first(flow):
            found.append(
                ctx.finding(
                    "no-validation",
                    loc,
                    f"flow {name!r} uses or delivers incoming data before any validate step",
                )
            )
        if not bulk and not flow.tests:
            found.append(ctx.finding("flow-no-tests", loc, f"flow {name!r} has no tests"))
        for i, step in enumerate(flow.steps):
            if isinstance(step, RouteStep) and not any(rule.default for rule in step.route):
                found.append(
                    ctx.finding(
                        "route-no-default",
                        (*loc, "steps", i, "route"),
                        f"the route in flow {name!r} says nothing of records that match none of its "
                        f"{len(step.route)} rule(s): they continue in {name!r}",
                    )
                )
    return found


def _validates_first(flow: Flow) -> bool:
    """True when a validate step comes before the data is transformed or delivered. A scheduled
    flow's body is written in the config itself, so it needs no check."""
    if flow.trigger.schedule is not None:
        return True
    for step in flow.steps:
        if isinstance(step, ValidateStep):
            return True
        if isinstance(step, MapStep | PythonStep | SplitStep):
            return False
    return False
