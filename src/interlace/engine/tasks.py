"""Human tasks: the `task` step, where a message waits for a person's decision, and the sweep
that moves tasks past their deadline along their escalation chain (or takes their default).

A message that reaches a task step (and meets its `when`) ends its run there: the worker acks its
work item and stores the task in the same transaction (Settle.tasks), so nothing is leased or
held while a person thinks. A decision resumes it in the transaction that records it
(Backend.decide_task). The sweep runs on the leader (one process of a shared store), by the
hub's clock, which tests replace.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from interlace.backends.base import Backend, NewTask, TaskDecision, TaskEscalation, TaskRecord
from interlace.config.models import Flow, Task
from interlace.config.models import TaskStep as TaskStepConfig
from interlace.engine.flows import CompiledFlow
from interlace.engine.schedule import Clock, SystemClock
from interlace.engine.steps import (
    Continue,
    Effects,
    Outcome,
    Step,
    build_step,
    condition,
    message_bindings,
    reads_message,
)
from interlace.errors import StepError
from interlace.message import Message
from interlace.options import parse_duration
from interlace.types import JSON, JSONObject

log = logging.getLogger("interlace.tasks")

DEADLINE = "interlace (deadline)"
"""Who decided a task that took its configured default."""


class TaskStep(Step):
    def __init__(self, config: Task, position: int, clock: Clock, reject_owner: str | None) -> None:
        self.config = config
        self.position = position
        self.clock = clock
        self.name = f"task:{config.name or config.entity or 'approval'}"
        self.deadline = parse_duration(config.deadline) if config.deadline else None
        self.chain = config.chain
        self.reject_owner = config.reject_to or reject_owner
        self._when = condition(config.when) if config.when else None
        self._message = self._when is not None and reads_message(self._when)

    def apply(self, message: Message) -> Outcome:
        extra = message_bindings(message) if self._message else None
        if self._when is not None and not self._when.evaluate(message.body, extra):
            return Continue(message.body)
        if not self.chain:  # `interlace check` reports it (task-no-owner): parked for the flow's owner
            raise StepError(f"{self.name} has no owner to wait for")
        now = self.clock.time()
        due = now + self.deadline if self.deadline is not None else None
        task = NewTask(message, self.position, self.name, self.chain[0], due, self.reject_owner, now)
        return Effects(tasks=[task], summary={"owner": task.owner, "due_at": due})

    def next_owner(self, level: int) -> str | None:
        """The owner a task at `level` (escalated that many times) goes to when its deadline passes."""
        return self.chain[level + 1] if level + 1 < len(self.chain) else None


class TaskSweep:
    """Every `every` seconds (of the clock), the open tasks past their deadline: each goes to the
    next owner of its chain with a new deadline, or past the chain's end takes its `default`, or
    (with none) stays with its owner, marked overdue and no longer swept; each owner a task moves
    to gets one reminder for all the tasks moved to it at once."""

    def __init__(
        self,
        backend: Backend,
        steps: Mapping[tuple[str, int], TaskStep],
        channels: Mapping[str, Sequence[tuple[str, str]]],
        clock: Clock,
        *,
        context: Mapping[str, JSON] | None = None,
        every: float = 1.0,
    ) -> None:
        self.backend = backend
        self.steps = steps
        self.channels = channels
        self.clock = clock
        self.context = context
        self.every = every

    async def tick(self) -> tuple[int, int]:
        """(tasks escalated, tasks decided by their default) now."""
        now = self.clock.time()
        moves: list[TaskEscalation] = []
        defaults: list[tuple[TaskRecord, TaskStep]] = []
        for task in await self.backend.tasks(status="open", due_by=now, limit=1000):
            step = self.steps.get((task.flow, task.position))
            if step is None:
                continue  # its flow is not in the running config (a reload): left as it is
            nxt = step.next_owner(task.level)
            if nxt is not None:
                due = now + step.deadline if step.deadline is not None else None
                moves.append(TaskEscalation(task.id, task.level, nxt, due, now, list(self.channels.get(nxt, ()))))
            elif step.config.default is not None:
                defaults.append((task, step))
            else:
                moves.append(TaskEscalation(task.id, task.level, task.owner, None, now,
                                            list(self.channels.get(task.owner, ()))))  # fmt: skip
        moved = await self.backend.escalate_tasks(moves, context=self.context) if moves else []
        decided = 0
        for task, step in defaults:
            verdict = step.config.default
            assert verdict is not None
            comment = f"no decision within {step.config.deadline} by {', '.join(step.chain)}"
            found = await self.backend.decide_task(
                task.id, TaskDecision(verdict, DEADLINE, now, comment=comment, owner=task.owner)
            )
            decided += found is not None
        if moved or decided:
            log.info("tasks past their deadline: %d escalated, %d took their default", len(moved), decided)
        return len(moved), decided

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("task sweep failed")
            await self.clock.sleep(self.every)


def build_steps(flow: Flow, schemas: dict[str, JSONObject], connectors: Mapping[str, Any] | None = None,
                clock: Clock | None = None) -> list[Step]:  # fmt: skip
    """A flow's runnable steps, its task steps on `clock` (default: the system's)."""
    clock = clock or SystemClock()
    return [
        TaskStep(s.task, i, clock, flow.on_error.owner) if isinstance(s, TaskStepConfig)
        else build_step(s, schemas, connectors)
        for i, s in enumerate(flow.steps)
    ]  # fmt: skip


def task_steps(flows: Mapping[str, CompiledFlow]) -> dict[tuple[str, int], TaskStep]:
    """Every task step of the running flows, by (flow, position)."""
    return {(name, i): s for name, f in flows.items() for i, s in enumerate(f.steps) if isinstance(s, TaskStep)}
