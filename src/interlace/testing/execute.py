"""Runs one message through compiled flows as the worker would (steps, splits, routes, then every
delivery), in memory: the deliveries go to `MemorySink`s, and every step's output is recorded."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace

from interlace.config.loader import LoadedConfig
from interlace.connectors import registry
from interlace.connectors.base import Sink
from interlace.engine.flows import CompiledFlow, Delivery
from interlace.engine.steps import AsyncStep, Continue, Drop, Effects, Route, Split
from interlace.engine.tasks import build_steps
from interlace.message import Message
from interlace.testing.fakes import MemorySink, MemoryTables
from interlace.types import JSON

MAX_MESSAGES = 1000


@dataclass
class Run:
    """What happened to one test message."""

    steps: dict[tuple[str, int], list[JSON]] = field(default_factory=dict)
    """(flow, step position) -> the bodies that step produced."""
    delivered: list[tuple[str, JSON]] = field(default_factory=list)
    """(flow, body) for each message that reached its flow's deliveries."""
    routed: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    error: Exception | None = None
    unfinished: int = 0
    """Messages still queued when the run stopped at MAX_MESSAGES (a route loop)."""
    sinks: dict[str, MemorySink] = field(default_factory=dict)

    def received(self, system: str) -> list[JSON]:
        sink = self.sinks.get(system)
        return list(sink.received) if sink else []


def compile_flows(
    loaded: LoadedConfig, sinks: dict[str, MemorySink], tables: MemoryTables | None = None
) -> dict[str, CompiledFlow]:
    """Every flow with its real steps, a fake per delivery system, and `tables` standing in for
    every system an `enrich` step reads."""
    flows = {}
    lookups = dict.fromkeys(loaded.config.systems, tables or MemoryTables())
    for name, flow in loaded.config.flows.items():
        steps = build_steps(flow, loaded.schemas, lookups)
        deliveries = []
        for i, d in enumerate(flow.deliver):
            memory = sinks.setdefault(d.system, MemorySink(d.system))
            twin = _twin(loaded, d.system, loaded.delivery_options.get((name, i)))
            deliveries.append(Delivery(d.system, memory if twin is None else replace(memory, twin=twin)))
        flows[name] = CompiledFlow(name, flow, steps, deliveries)
    return flows


def _twin(loaded: LoadedConfig, system: str, options: object) -> Sink | None:
    """The system's connector's in-memory twin of this delivery (it shares the recording lists of
    the system's `MemorySink`), or None."""
    cls = registry.get(loaded.config.systems[system].connector)
    if cls is None or options is None or system not in loaded.system_settings:
        return None
    return cls(system, loaded.system_settings[system]).twin(options)


async def execute(flows: dict[str, CompiledFlow], first: Message) -> Run:
    run = Run(sinks={d.system: d.sink for f in flows.values() for d in f.deliveries if isinstance(d.sink, MemorySink)})
    for sink in run.sinks.values():
        sink.received.clear()
        sink.delivery_ids.clear()
    queue: deque[tuple[Message, int]] = deque([(first, 0)])
    handled = 0
    while queue and handled < MAX_MESSAGES:
        message, position = queue.popleft()
        handled += 1
        try:
            await _one(flows[message.flow], message, position, run, queue)
        except Exception as exc:  # the flow's failure is the test's result, not the runner's
            run.error = exc
            break
    run.unfinished = len(queue) if run.error is None else 0
    return run


async def _one(
    flow: CompiledFlow, message: Message, position: int, run: Run, queue: deque[tuple[Message, int]]
) -> None:
    while position < len(flow.steps):
        step = flow.steps[position]
        outcome = await step.run(message) if isinstance(step, AsyncStep) else step.apply(message)
        if isinstance(outcome, Continue):
            run.steps.setdefault((flow.name, position), []).append(outcome.body)
            message = message.replace(body=outcome.body)
            position += 1
        elif isinstance(outcome, Drop):
            run.dropped.append(outcome.reason)
            return
        elif isinstance(outcome, Split):
            run.steps.setdefault((flow.name, position), []).append(outcome.bodies)
            for i, body in enumerate(outcome.bodies):
                queue.append((message.child(str(i), body), position + 1))
            return
        elif isinstance(outcome, Route):
            run.routed.append(outcome.flow)
            queue.append((message.replace(flow=outcome.flow), 0))
            return
        elif isinstance(outcome, Effects) and outcome.tasks:  # a flow test takes a task as approved as it is
            run.steps.setdefault((flow.name, position), []).append(message.body)
            position += 1
        else:
            raise TypeError(f"{step.name} has effects a flow test cannot run")
    run.delivered.append((flow.name, message.body))
    for i, delivery in enumerate(flow.deliveries):
        await delivery.sink.deliver(message, flow.delivery_id(message.id, len(flow.steps) + i))
