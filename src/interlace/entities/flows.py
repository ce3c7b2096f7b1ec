"""The flows the hub generates from an entity's subscribers. For each subscribed system:

- `<entity>:from:<system>`: its trigger -> map `inbound` -> sync (merge into the golden record,
  or pass through in interact mode);
- `<entity>:to:<system>`: map `outbound` -> its `deliver` (fed by sync, never by a trigger);
- `<entity>:delete:<system>`: map `outbound` -> its `delete` sink, when it has one.

They are ordinary flows (trace, retries, exceptions, counts all apply), and their names appear in
traces, counts and `dlq list`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from interlace.config.models import Delivery, Entity, Flow, MapStep, OnError, Trigger
from interlace.entities.rules import EntityRules, flow_name
from interlace.types import JSONObject

if TYPE_CHECKING:
    from interlace.backends.base import Backend
    from interlace.config.loader import LoadedConfig
    from interlace.connectors.base import Connector
    from interlace.engine.flows import CompiledFlow

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


def compile_entity_flows(
    loaded: LoadedConfig, connectors: dict[str, Connector], backend: Backend
) -> dict[str, CompiledFlow]:
    """Every entity's generated flows, built like the config's own, with a sync step ending each
    inbound flow."""
    from interlace.engine.flows import CompiledFlow, Delivery
    from interlace.engine.steps import Step, build_step
    from interlace.entities.sync import Sync

    compiled: dict[str, CompiledFlow] = {}
    for name, entity in loaded.config.entities.items():
        rules = EntityRules.from_config(name, entity, loaded.schemas.get(name))
        for ef in entity_flows(name, entity):
            steps: list[Step] = [build_step(s, loaded.schemas, connectors) for s in ef.flow.steps]
            deliveries = []
            if ef.kind == "from":
                steps.append(Sync(rules, ef.system, backend, len(steps)))
            else:
                options = loaded.delivery_options[(ef.name, 0)]
                deliveries.append(Delivery(ef.system, connectors[ef.system].sink(options)))
            compiled[ef.name] = CompiledFlow(ef.name, ef.flow, steps, deliveries)
    return compiled
