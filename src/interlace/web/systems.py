"""The systems of the config and their health: each connector's own probe (`Connector.probe()`,
as `interlace check` runs it), answered from a cache so that pages and API calls do not knock on
a system more than once every `EVERY` seconds, each probe bounded by `TIMEOUT`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from interlace.config.models import HubConfig
from interlace.config.secrets import redact
from interlace.connectors.base import Connector

EVERY = 15.0
TIMEOUT = 3.0


class SystemHealth:
    def __init__(self, connectors: Mapping[str, Connector], clock: Callable[[], float] = time.monotonic) -> None:
        self.connectors = connectors
        self.clock = clock
        self.seen: dict[str, tuple[float, dict[str, Any]]] = {}

    async def _probe(self, name: str, connector: Connector) -> dict[str, Any]:
        started = self.clock()
        error: str | None
        try:
            await asyncio.wait_for(connector.probe(), TIMEOUT)
        except TimeoutError:
            state, error = "down", f"no answer within {TIMEOUT:g} s"
        except Exception as exc:  # a probe that fails for any reason says the system is down, and why
            state, error = "down", str(exc) or type(exc).__name__
        else:
            state, error = "up", None
        return {"status": state, "error": error, "probe_ms": round((self.clock() - started) * 1000, 1),
                "checked_at": time.time()}  # fmt: skip

    async def health(self) -> dict[str, dict[str, Any]]:
        now = self.clock()
        due = [n for n in self.connectors if n not in self.seen or now - self.seen[n][0] >= EVERY]
        found = await asyncio.gather(*(self._probe(n, self.connectors[n]) for n in due))
        for name, state in zip(due, found, strict=True):
            self.seen[name] = (now, state)
        return {name: self.seen[name][1] for name in self.connectors}


def system_views(
    config: HubConfig, health: dict[str, dict[str, Any]], agents: Sequence[Mapping[str, Any]] = ()
) -> list[dict[str, Any]]:
    """Each system: its connector, the flows it triggers and receives, and its health; a system an
    agent runs is not probed from the hub: its health is its agent's link."""
    links = {a["name"]: a for a in agents}
    rows = []
    for name, system in config.systems.items():
        if system.agent is not None:
            link = links.get(system.agent, {})
            up = link.get("state") == "connected"
            why = None if up else f"agent {system.agent} is {link.get('state', 'unknown')}"
            health = {**health, name: {"status": "up" if up else "down", "error": why}}
        rows.append(
            {
                "name": name,
                "connector": system.connector,
                "description": system.description,
                "agent": system.agent,
                "triggers": [f for f, flow in config.flows.items() if flow.trigger.system == name],
                "receives": [f for f, flow in config.flows.items() if any(d.system == name for d in flow.deliver)],
                "entities": [e for e, ent in config.entities.items() if name in ent.subscribers],
                "health": health.get(name, {"status": "unknown", "error": None}),
            }
        )
    return list(redact(rows))
