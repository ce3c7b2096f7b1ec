"""`interlace test`: runs each flow's `tests:` and says, for a failure, which flow, which test and
which field differs."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field

from interlace.config.loader import LoadedConfig
from interlace.config.models import Flow, FlowTest
from interlace.engine.flows import CompiledFlow
from interlace.message import Message
from interlace.testing.execute import MAX_MESSAGES, Run, compile_flows, execute
from interlace.testing.fakes import MemoryTables
from interlace.testing.jsondiff import differences
from interlace.types import JSON


@dataclass
class TestResult:
    __test__ = False  # not a pytest test class

    flow: str
    test: str
    failures: list[str] = field(default_factory=list)
    error: str | None = None
    """The runner could not run the test (a step that does not build); not a wrong result."""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures and self.error is None


def label(test: FlowTest, index: int) -> str:
    return test.name or f"test {index + 1}"


def run_tests(loaded: LoadedConfig, *, flow: str | None = None) -> list[TestResult]:
    """Every test of every flow (or of one flow), in config order."""
    return asyncio.run(_run_all(loaded, flow))


async def _run_all(loaded: LoadedConfig, only: str | None) -> list[TestResult]:
    chosen = {n: f for n, f in loaded.config.flows.items() if only is None or n == only}
    try:
        tables = MemoryTables()
        flows = compile_flows(loaded, {}, tables)
    except Exception as exc:  # a python step that does not import fails its flows' tests
        return [
            TestResult(name, label(t, i), error=f"cannot build the flows: {exc}")
            for name, f in chosen.items()
            for i, t in enumerate(f.tests)
        ]
    results = []
    for name, config in chosen.items():
        for i, test in enumerate(config.tests):
            started = time.perf_counter()
            tables.tables = test.lookups
            run = await execute(flows, _message(name, config, test))
            result = TestResult(name, label(test, i), _judge(flows[name], test, run))
            result.seconds = time.perf_counter() - started
            results.append(result)
    return results


def _message(name: str, flow: Flow, test: FlowTest) -> Message:
    return Message(
        flow=name,
        source=flow.trigger.system,
        event=test.event or flow.trigger.event,
        body=test.given,
    )


def _judge(flow: CompiledFlow, test: FlowTest, run: Run) -> list[str]:
    failures = _exception(test, run)
    if run.error is not None:
        return failures
    if run.unfinished:
        failures.append(f"stopped after {MAX_MESSAGES} messages: do routes send messages round in a loop?")
    if "expect" in test.model_fields_set:
        bodies = [body for _, body in run.delivered]
        actual: JSON = None if not bodies else bodies[0] if len(bodies) == 1 else bodies
        if not bodies and test.expect is not None:
            why = f" (dropped: {'; '.join(run.dropped)})" if run.dropped else ""
            failures.append(f"expected a delivery of {json.dumps(test.expect)}, but nothing was delivered{why}")
        else:
            failures += [f"delivered body differs at {d}" for d in differences(test.expect, actual)]
    for key, expected in test.expect_steps.items():
        position = _position(flow, key)
        if position is None:
            failures.append(f"expect_steps: no single step {key!r} in the flow")
            continue
        outputs = run.steps.get((flow.name, position), [])
        got: JSON = None if not outputs else outputs[0] if len(outputs) == 1 else outputs
        label = f"step {position} ({flow.steps[position].name})"
        failures += [f"{label} output differs at {d}" for d in differences(expected, got)]
    for system, expected_bodies in test.expect_deliveries.items():
        received = run.received(system)
        failures += [f"delivery to {system!r} differs at {d}" for d in differences(expected_bodies, received)]
    if test.expect_routed is not None and test.expect_routed not in run.routed:
        failures.append(f"expected a route to {test.expect_routed!r}, got {', '.join(run.routed) or 'no route'}")
    return failures


def _exception(test: FlowTest, run: Run) -> list[str]:
    error = run.error
    wanted = test.expect_exception
    if error is None:
        return [f"expected an exception containing {wanted!r}, but none was raised"] if wanted else []
    text = f"{type(error).__name__}: {error}"
    if wanted is None:
        return [f"raised {text}"]
    return [] if wanted.lower() in text.lower() else [f"expected an exception containing {wanted!r}, got {text}"]


def _position(flow: CompiledFlow, key: str) -> int | None:
    if key.isdigit():
        return int(key) if int(key) < len(flow.steps) else None
    matches = [i for i, step in enumerate(flow.steps) if step.name.split(":")[0] == key or step.name == key]
    return matches[0] if len(matches) == 1 else None
