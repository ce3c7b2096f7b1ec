"""The config side of entities: the flows the hub generates from an entity's subscribers, and the
checks the loader runs on them. For each subscribed system:

- `<entity>:from:<system>`: its trigger -> map `inbound` -> sync (merge into the golden record,
  or pass through in interact mode);
- `<entity>:to:<system>`: map `outbound` -> its `deliver` (fed by sync, never by a trigger);
- `<entity>:delete:<system>`: map `outbound` -> its `delete` sink, when it has one.

They are ordinary flows (trace, retries, exceptions, counts all apply), and their names appear in
traces, counts and `dlq list`. The checks: each subscriber is a system whose connector can send
(trigger) and receive (deliver, delete) with the options given, and whose mappings compile. The
options models built here are the ones the hub's generated flows use. `entities/flows.py` compiles
these flows for running."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

from pydantic import BaseModel

from interlace.config.lines import Path_
from interlace.config.models import Delivery, Entity, Flow, HubConfig, MapStep, OnError, Trigger
from interlace.errors import MappingError
from interlace.mapping.jsonata import compile_expression
from interlace.types import JSONObject


class _Loading(Protocol):
    """The config being loaded (config/loader.py `LoadedConfig`), as far as these checks use it."""

    config: HubConfig
    trigger_options: dict[str, BaseModel | None]
    delivery_options: dict[tuple[str, int], BaseModel]


class _Checks(Protocol):
    """Where problems go (config/loader.py `_Checker`)."""

    def add(self, loc: Path_, message: str) -> None: ...

    def model(self, prefix: Path_, model: type[BaseModel], data: dict[str, Any]) -> BaseModel | None: ...


def flow_name(entity: str, kind: Literal["from", "to", "delete"], system: str) -> str:
    """The name of a flow the hub generates for an entity's subscriber."""
    return f"{entity}:{kind}:{system}"


Kind = Literal["from", "to", "delete"]


@dataclass
class EntityFlow:
    name: str
    entity: str
    system: str
    kind: Kind
    flow: Flow


def _fed_by_the_hub() -> Trigger:
    """No trigger: the flow's messages come from the entity's sync step."""
    return Trigger.model_construct(system=None, event=None, schedule=None, body=None)


def entity_flows(name: str, entity: Entity) -> list[EntityFlow]:
    out = []
    for system, sub in entity.subscribers.items():
        if sub.trigger is not None:
            trig = sub.trigger
            trigger = Trigger.model_validate({**trig.extras, "system": trig.system or system, "event": trig.event})
            inbound: list[Any] = [MapStep(map=sub.inbound)] if sub.inbound else []
            flow = Flow(trigger=trigger, steps=inbound, on_error=OnError(owner=entity.owner))
            out.append(EntityFlow(flow_name(name, "from", system), name, system, "from", flow))
        sinks: list[tuple[Kind, JSONObject | None]] = [("to", sub.deliver), ("delete", sub.delete)]
        for kind, options in sinks:
            if options is None:
                continue
            outbound: list[Any] = [MapStep(map=sub.outbound)] if sub.outbound else []
            flow = Flow.model_construct(  # constructed: it has no trigger, which a config flow must have
                trigger=_fed_by_the_hub(),
                steps=outbound,
                deliver=[Delivery.model_validate({**options, "system": system})],
                on_error=sub.on_error or OnError(owner=entity.owner),
            )
            out.append(EntityFlow(flow_name(name, kind, system), name, system, kind, flow))
    return out


def check_entities(loaded: _Loading, check: _Checks, connector_of: dict[str, Any]) -> None:
    cfg = loaded.config
    for name, entity in cfg.entities.items():
        base: Path_ = ("entities", name, "subscribers")
        for system, sub in entity.subscribers.items():
            loc: Path_ = (*base, system)
            if system not in cfg.systems:
                check.add(loc, f"no system named {system!r}")
                continue
            for mapping in ("inbound", "outbound"):
                text = getattr(sub, mapping)
                if text is not None:
                    try:
                        compile_expression(text)
                    except MappingError as exc:
                        check.add((*loc, mapping), str(exc))
        if entity.mode == "interact":
            both = [s for s, sub in entity.subscribers.items() if sub.trigger is not None and sub.deliver is not None]
            if len(both) > 1:
                check.add(
                    ("entities", name, "mode"),
                    f"in interact mode changes pass straight through, so {' and '.join(both)}, each sending "
                    "and receiving, would echo them back and forth: use mode: integrate, or let each "
                    "system only send or only receive",
                )
        for ef in entity_flows(name, entity):
            if ef.system not in cfg.systems:
                continue
            if ef.name in cfg.flows:
                check.add(("flows", ef.name), f"this name is taken by a flow of entity {name!r}")
            loc = (*base, ef.system, {"from": "trigger", "to": "deliver", "delete": "delete"}[ef.kind])
            if ef.kind == "from":
                receiver = ef.flow.trigger.system
                assert receiver is not None
                if receiver not in cfg.systems:
                    check.add((*loc, "system"), f"no system named {receiver!r}")
                    continue
                cls = connector_of.get(receiver)
                if cls is None:
                    continue
                if cls.source_options is None:
                    check.add(loc, f"system {receiver!r} ({cls.name}) cannot send changes")
                    continue
                sub_trigger = entity.subscribers[ef.system].trigger
                assert sub_trigger is not None
                loaded.trigger_options[ef.name] = check.model(loc, cls.source_options, sub_trigger.extras)
            else:
                cls = connector_of.get(ef.system)
                if cls is None:
                    continue
                if cls.sink_options is None:
                    check.add(loc, f"system {ef.system!r} ({cls.name}) cannot receive deliveries")
                    continue
                options = ef.flow.deliver[0].extras
                built = check.model(loc, cls.sink_options, options)
                if built is not None:
                    loaded.delivery_options[(ef.name, 0)] = built
