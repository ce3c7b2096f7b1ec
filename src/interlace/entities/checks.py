"""Config checks for entities' subscribers, run by the loader with the rest of the references:
each subscriber is a system whose connector can send (trigger) and receive (deliver, delete) with
the options given, and whose mappings compile. The options models built here are the ones the
hub's generated flows use."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from interlace.config.lines import Path_
from interlace.entities.flows import entity_flows
from interlace.errors import MappingError
from interlace.mapping.jsonata import compile_expression

if TYPE_CHECKING:
    from interlace.config.loader import LoadedConfig, _Checker


def check_entities(loaded: LoadedConfig, check: _Checker, connector_of: dict[str, Any]) -> None:
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
