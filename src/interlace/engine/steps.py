"""The steps a flow runs between its trigger and its deliveries, compiled once per flow.

Steps are pure: they read a message and say what becomes of it (continue with a new body, be
dropped, split into several, or go to another flow). Only deliveries touch other systems.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator

from interlace.backends.base import GoldenWrite, NewTask, NewWork, ParkedException
from interlace.config.models import (
    Enrich,
    EnrichStep,
    FilterStep,
    MapStep,
    PythonStep,
    RouteStep,
    SplitStep,
    ValidateStep,
)
from interlace.errors import StepError, ValidationFailed
from interlace.mapping.jsonata import Expression, compile_expression, condition_source
from interlace.message import Message
from interlace.types import JSON, JSONObject


@dataclass(slots=True)
class Continue:
    body: JSON


@dataclass(slots=True)
class Drop:
    reason: str


@dataclass
class Split:
    bodies: list[JSON]


@dataclass(slots=True)
class Route:
    flow: str


@dataclass
class Effects:
    """The message's run ends here with these effects, committed together with its ack in one
    transaction: new work, golden record writes, parked exceptions, tasks the message now waits
    in (engine/tasks.py). `summary` goes to the trace."""

    outputs: list[NewWork] = field(default_factory=list)
    golden: list[GoldenWrite] = field(default_factory=list)
    exceptions: list[ParkedException] = field(default_factory=list)
    summary: JSON = None
    tasks: list[NewTask] = field(default_factory=list)


Outcome = Continue | Drop | Split | Route | Effects


def reads_message(expression: Expression) -> bool:
    """Whether the expression may read `$message` (so the bindings must be built for each message)."""
    return expression.variables is None or "message" in expression.variables


def message_bindings(message: Message) -> dict[str, Any]:
    return {
        "message": {
            "id": message.id,
            "event": message.event,
            "source": message.source,
            "key": message.key,
            "headers": message.headers,
        }
    }


class Step:
    name: str = "step"

    def apply(self, message: Message) -> Outcome:
        raise NotImplementedError


class AsyncStep(Step):
    """A step that reads the hub's store (an entity's `sync`), so the worker awaits `run`.
    It still only decides: what it writes is returned as `Effects` and committed with the ack."""

    async def run(self, message: Message) -> Outcome:
        raise NotImplementedError

    def apply(self, message: Message) -> Outcome:
        raise StepError(f"step {self.name} reads the hub's store: it runs only in the worker")


class Validate(Step):
    def __init__(self, entity: str, schema: JSONObject) -> None:
        self.entity = entity
        self.name = f"validate:{entity}"
        self._validator = Draft202012Validator(schema)

    def errors(self, body: JSON) -> list[str]:
        found = []
        for err in sorted(self._validator.iter_errors(body), key=lambda e: list(e.absolute_path)):
            path = "/".join(str(p) for p in err.absolute_path) or "(body)"
            found.append(f"{path}: {err.message}")
        return found

    def apply(self, message: Message) -> Outcome:
        errors = self.errors(message.body)
        if errors:
            raise ValidationFailed(self.entity, errors)
        return Continue(message.body)


class Map(Step):
    name = "map"

    def __init__(self, expression: str) -> None:
        self.expression = compile_expression(expression)

    @property
    def expression(self) -> Expression:
        return self._expression

    @expression.setter
    def expression(self, expression: Expression) -> None:
        # the per-message path is chosen here, once: no bindings built when $message is not read
        self._expression = expression
        self._evaluate = expression.evaluate
        self._evaluate_data = expression.evaluate_data
        if reads_message(expression):
            self.apply = self._apply_bindings  # type: ignore[method-assign]
        else:  # compiled: the message's body to its outcome in one generated function
            step = expression.step("_continue({value})", {"_continue": Continue})
            self.apply = step or self._apply_body  # type: ignore[method-assign,assignment]

    def _apply_bindings(self, message: Message) -> Outcome:
        return Continue(self._evaluate(message.body, message_bindings(message)))

    def apply(self, message: Message) -> Outcome:
        return Continue(self._evaluate(message.body, message_bindings(message)))

    def _apply_body(self, message: Message) -> Outcome:
        return Continue(self._evaluate_data(message.body))


def condition(expression: str) -> Expression:
    """A JSONata condition, judged by JSONata's own truth rules ($boolean), not Python's."""
    compiled = compile_expression(condition_source(expression))
    compiled.source = expression
    return compiled


class Filter(Step):
    name = "filter"

    def __init__(self, expression: str) -> None:
        self.expression = condition(expression)
        self._message = reads_message(self.expression)
        self._evaluate = self.expression.evaluate
        self._evaluate_data = self.expression.evaluate_data
        if not self._message:
            names = {"_continue": Continue, "_drop": Drop, "_reason": f"filter {self.expression.source!r} is false"}
            step = self.expression.step("(_continue(data) if {value} else _drop(_reason))", names)
            if step is not None:
                self.apply = step  # type: ignore[method-assign,assignment]

    def apply(self, message: Message) -> Outcome:
        body = message.body
        if self._evaluate(body, message_bindings(message)) if self._message else self._evaluate_data(body):
            return Continue(body)
        return Drop(f"filter {self.expression.source!r} is false")


class RouteTo(Step):
    name = "route"

    def __init__(self, rules: list[tuple[Expression, str]], default: str | None) -> None:
        self.rules = rules
        self.default = default
        self._message = any(reads_message(e) for e, _ in rules)
        if not self._message:
            # compiled rules: one generated function per rule, each handing a message it does not
            # route to the next rule's (the last to the default)
            chain: Callable[[Message], Outcome] = self._unrouted
            for i, (expression, flow) in enumerate(reversed(rules)):
                names = {"_route": Route, "_flow": flow, "_next": chain, "_continue": Continue, "_default": default}
                otherwise = "_next(m)" if i else "_continue(data)" if default is None else "_route(_default)"
                step = expression.step(f"(_route(_flow) if {{value}} else {otherwise})", names)
                if step is None:
                    break
                chain = step
            else:
                self.apply = chain  # type: ignore[method-assign,assignment]

    def _unrouted(self, message: Message) -> Outcome:
        if self.default is not None:
            return Route(self.default)
        return Continue(message.body)

    def apply(self, message: Message) -> Outcome:
        body = message.body
        if self._message:
            bindings = message_bindings(message)
            for expression, flow in self.rules:
                if expression.evaluate(body, bindings):
                    return Route(flow)
        else:
            for expression, flow in self.rules:
                if expression.evaluate_data(body):
                    return Route(flow)
        if self.default is not None:
            return Route(self.default)
        return Continue(message.body)


class SplitInto(Step):
    name = "split"

    def __init__(self, expression: str) -> None:
        self.expression = compile_expression(expression)

    def apply(self, message: Message) -> Outcome:
        bindings = message_bindings(message) if reads_message(self.expression) else None
        value = self.expression.evaluate(message.body, bindings)
        if value is None:
            return Drop(f"split {self.expression.source!r} yields nothing")
        return Split(value if isinstance(value, list) else [value])


class PythonCall(Step):
    def __init__(self, target: str) -> None:
        module, _, attr = target.partition(":")
        if not attr:
            raise StepError(f"python step {target!r} must be module:function")
        self.name = f"python:{target}"
        self.function: Callable[[JSON], JSON] = getattr(importlib.import_module(module), attr)

    def apply(self, message: Message) -> Outcome:
        return Continue(self.function(message.body))


class EnrichFrom(AsyncStep):
    """Adds a database row to the body. A system that cannot be reached is retried like a
    delivery; an absent row is null in the body, or, when `required`, bad data for the owner."""

    def __init__(self, config: Enrich, lookup: Callable[[str, dict[str, JSON]], Awaitable[JSONObject | None]]) -> None:
        self.config = config
        self.name = f"enrich:{config.system}.{config.table}"
        self.where = {column: compile_expression(expr) for column, expr in config.where.items()}
        self.lookup = lookup

    async def run(self, message: Message) -> Outcome:
        body = message.body
        if not isinstance(body, dict):
            raise StepError(f"{self.name} needs an object body to add {self.config.into!r} to")
        bindings = message_bindings(message)
        where = {column: expr.evaluate(body, bindings) for column, expr in self.where.items()}
        row = await self.lookup(self.config.table, where)
        if row is None and self.config.required:
            raise StepError(f"no {self.config.table} row where {where}")
        return Continue({**body, self.config.into: row})


def build_step(config: Any, schemas: dict[str, JSONObject], connectors: Mapping[str, Any] | None = None) -> Step:
    """The runnable step for a step's config (`connectors` by system name, for steps that read one)."""
    if isinstance(config, ValidateStep):
        return Validate(config.validate_, schemas.get(config.validate_, {}))
    if isinstance(config, MapStep):
        return Map(config.map)
    if isinstance(config, FilterStep):
        return Filter(config.filter)
    if isinstance(config, RouteStep):
        rules = [(condition(r.when), r.to) for r in config.route if r.when and r.to]
        default = next((r.default for r in config.route if r.default), None)
        return RouteTo(rules, default)
    if isinstance(config, SplitStep):
        return SplitInto(config.split)
    if isinstance(config, PythonStep):
        return PythonCall(config.python)
    if isinstance(config, EnrichStep):
        connector = (connectors or {}).get(config.enrich.system)
        if connector is None or not connector.can_look_up:
            raise TypeError(f"system {config.enrich.system!r} cannot be looked up")
        return EnrichFrom(config.enrich, connector.lookup)
    raise TypeError(f"unknown step {config!r}")
