"""A flow compiled for running: its steps built, its sinks opened, its retry policy resolved."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from interlace.config.models import Flow
from interlace.connectors.base import Sink
from interlace.engine.steps import Step, Validate
from interlace.observability import metrics


@dataclass
class Delivery:
    system: str
    sink: Sink

    @property
    def stage(self) -> str:
        return f"deliver:{self.system}"


@dataclass
class CompiledFlow:
    name: str
    config: Flow
    steps: list[Step]
    deliveries: list[Delivery] = field(default_factory=list)

    @property
    def attempts(self) -> int:
        return self.config.on_error.retry.attempts

    @property
    def backoff(self) -> tuple[float, float]:
        return self.config.on_error.retry.bounds()

    @property
    def owner(self) -> str | None:
        return self.config.on_error.owner

    @cached_property
    def meters(self) -> metrics.FlowMeters:
        """This flow's metric children (bound once: labels() costs per call)."""
        return metrics.FlowMeters(self.name, self.owner)

    @cached_property
    def received(self) -> Any:
        """This flow's received-messages counter."""
        return self.meters.received

    @cached_property
    def steps_seconds(self) -> Any:
        """This flow's histogram of the time its steps take per work item."""
        return self.meters.stage("steps")

    @cached_property
    def leading_validates(self) -> list[Validate]:
        """The validate steps before any other step: a push source runs them before answering."""
        out = []
        for step in self.steps:
            if not isinstance(step, Validate):
                break
            out.append(step)
        return out

    def is_delivery(self, position: int) -> bool:
        return position >= len(self.steps)

    def delivery(self, position: int) -> Delivery:
        return self.deliveries[position - len(self.steps)]

    def stage(self, position: int) -> str:
        if self.is_delivery(position):
            return self.delivery(position).stage
        return self.steps[position].name

    def delivery_id(self, message_id: str, position: int) -> str:
        """Names one delivery of one message: sinks use it as their idempotency key."""
        return f"{message_id}:{self.name}:{position - len(self.steps)}"
