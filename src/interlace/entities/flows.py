"""The flows the hub generates from an entity's subscribers (see config/entities.py), compiled for
running: built like the config's own, with a sync step ending each inbound flow."""

from __future__ import annotations

from typing import TYPE_CHECKING

from interlace.config.entities import entity_flows
from interlace.entities.rules import EntityRules

if TYPE_CHECKING:
    from interlace.backends.base import Backend
    from interlace.config.loader import LoadedConfig
    from interlace.connectors.base import Connector
    from interlace.engine.flows import CompiledFlow


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
