"""Question 4, in the mappings: does a map read only fields its input has, and produce every field
its target requires?

The input of a map is known when a `validate` step came before it (filters and routes keep the
body's shape): its entity's schema. Two complementary approaches:
- reading: the expression's field paths are followed through that schema (`jsonata_paths`);
- producing: the map is evaluated on a sample record built from the schema with every declared
  field filled in (`schemas.sample`); a required target field absent from the result is missing for
  every valid record. The target's requirements are the key of the deliveries the map feeds, and the
  `required` fields of a `validate` step that follows the map.
"""

from __future__ import annotations

from typing import Any

from interlace.config.lines import Path_
from interlace.config.models import (
    EnrichStep,
    FilterStep,
    Flow,
    MapStep,
    PythonStep,
    RouteStep,
    SplitStep,
    ValidateStep,
)
from interlace.errors import MappingError
from interlace.mapping.jsonata import compile_expression, condition_source
from interlace.readiness.context import Context
from interlace.readiness.finding import Finding
from interlace.readiness.jsonata_paths import unknown_fields
from interlace.readiness.schemas import knows_fields, sample


def check(ctx: Context) -> list[Finding]:
    found: list[Finding] = []
    for name, flow in ctx.loaded.config.flows.items():
        found += _flow(ctx, name, flow)
    for name in ctx.loaded.config.entities:
        found += _outbound(ctx, name)
    found += _engines(ctx)
    return found


def expressions(ctx: Context) -> list[tuple[Path_, str, str]]:
    """Every JSONata expression of the config: (where, what it is, the text that runs)."""
    out: list[tuple[Path_, str, str]] = []
    for name, flow in ctx.loaded.config.flows.items():
        for i, step in enumerate(flow.steps):
            loc: Path_ = ("flows", name, "steps", i)
            if isinstance(step, MapStep):
                out.append(((*loc, "map"), f"the map in flow {name!r}", step.map))
            elif isinstance(step, SplitStep):
                out.append(((*loc, "split"), f"the split in flow {name!r}", step.split))
            elif isinstance(step, FilterStep):
                out.append(((*loc, "filter"), f"the filter in flow {name!r}", condition_source(step.filter)))
            elif isinstance(step, RouteStep):
                for j, rule in enumerate(step.route):
                    if rule.when:
                        where = (*loc, "route", j, "when")
                        out.append((where, f"route rule {j + 1} in flow {name!r}", condition_source(rule.when)))
            elif isinstance(step, EnrichStep):
                for column, text in step.enrich.where.items():
                    where = (*loc, "enrich", "where", column)
                    out.append((where, f"the enrich lookup of {column!r} in flow {name!r}", text))
    for entity, spec in ctx.loaded.config.entities.items():
        subscribers: dict[str, Any] = getattr(spec, "subscribers", {}) or {}
        for system, sub in subscribers.items():
            for direction in ("inbound", "outbound"):
                mapping = getattr(sub, direction, None)
                if isinstance(mapping, str):
                    where = ("entities", entity, "subscribers", system, direction)
                    out.append((where, f"the {direction} mapping of {entity!r} for {system!r}", mapping))
    return out


def _engines(ctx: Context) -> list[Finding]:
    """A note for each expression that runs on jsonatapy, naming the construct that sends it there."""
    found = []
    for loc, what, text in expressions(ctx):
        try:
            expression = compile_expression(text)
        except MappingError:
            continue  # reported where the config is loaded
        if expression.fallback is not None:
            found.append(
                ctx.finding(
                    "mapping-not-compiled",
                    loc,
                    f"{what} runs on jsonatapy, not compiled: {expression.fallback}",
                )
            )
    return found


def _outbound(ctx: Context, entity: str) -> list[Finding]:
    """An entity subscriber's `outbound` mapping reads the entity's record: its schema is the input."""
    schema = ctx.loaded.schemas.get(entity)
    subscribers: dict[str, Any] = getattr(ctx.loaded.config.entities[entity], "subscribers", {}) or {}
    if not knows_fields(schema):
        return []
    found = []
    for system, sub in subscribers.items():
        expression = getattr(sub, "outbound", None)
        if isinstance(expression, str):
            found += [
                ctx.finding(
                    "mapping-unknown-field",
                    ("entities", entity, "subscribers", system, "outbound"),
                    f"the outbound mapping to {system!r} reads {path!r}, which entity {entity!r} does not have",
                )
                for path in unknown_fields(expression, schema)
            ]
    return found


def _flow(ctx: Context, name: str, flow: Flow) -> list[Finding]:
    schemas = ctx.loaded.schemas
    found: list[Finding] = []
    schema: Any = None
    for i, step in enumerate(flow.steps):
        if isinstance(step, ValidateStep):
            schema = schemas.get(step.validate_)
        elif isinstance(step, MapStep):
            if knows_fields(schema):
                found += _map(ctx, name, flow, i, step.map, schema)
            schema = None
        elif isinstance(step, SplitStep | PythonStep):
            schema = None
    return found


def _map(ctx: Context, flow_name: str, flow: Flow, index: int, expression: str, schema: Any) -> list[Finding]:
    loc: Path_ = ("flows", flow_name, "steps", index, "map")
    found = [
        ctx.finding(
            "mapping-unknown-field",
            loc,
            f"the map in flow {flow_name!r} reads {path!r}, which its input ({_input(flow, index)}) does not have",
        )
        for path in unknown_fields(expression, schema)
    ]
    record = sample(schema)
    try:
        output = compile_expression(expression).evaluate(record, {"message": {"event": flow.trigger.event}})
    except MappingError as exc:
        found.append(
            ctx.finding(
                "mapping-fails-on-sample",
                loc,
                f"the map in flow {flow_name!r} fails on a record that matches its schema: {exc}",
            )
        )
        return found
    if not isinstance(output, dict):
        return found
    for field_name, target in _required(ctx, flow_name, flow, index):
        if field_name not in output:
            found.append(
                ctx.finding(
                    "mapping-missing-target-field",
                    loc,
                    f"the map in flow {flow_name!r} never produces {field_name!r}, which {target} requires",
                )
            )
    return found


def _input(flow: Flow, index: int) -> str:
    entity = next(s.validate_ for s in reversed(flow.steps[:index]) if isinstance(s, ValidateStep))
    return f"entity {entity!r}"


def _required(ctx: Context, flow_name: str, flow: Flow, index: int) -> list[tuple[str, str]]:
    """(field, who requires it) for the body the map at `index` produces."""
    for step in flow.steps[index + 1 :]:
        if isinstance(step, ValidateStep):
            schema = ctx.loaded.schemas.get(step.validate_, {})
            required = schema.get("required", []) if isinstance(schema, dict) else []
            return [(str(f), f"the schema of entity {step.validate_!r}") for f in required]
        if isinstance(step, MapStep | SplitStep | PythonStep):
            return []
    out: list[tuple[str, str]] = []
    for i, delivery in enumerate(flow.deliver):
        options = ctx.loaded.delivery_options.get((flow_name, i))
        key = getattr(options, "key", None)
        keys = [key] if isinstance(key, str) else list(key) if isinstance(key, list) else []
        out += [(str(k), f"the delivery to {delivery.system!r} (its key)") for k in keys]
    return out
