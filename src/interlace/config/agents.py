"""The loader's checks of the `agents:` section and of the systems assigned to agents (a system's
`agent:`), and of `hub.tls`: every problem with its path, as the rest of the config's."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from interlace.config.lines import Path_
from interlace.config.models import HubConfig

MIN_TOKEN = 16
"""Characters an agent's token has at least: it is the agent's only credential."""


class _Checks(Protocol):
    """Where problems go (config/loader.py `_Checker`)."""

    def add(self, loc: Path_, message: str) -> None: ...

    def dangling(self, loc: Path_, section: str, name: str) -> None: ...


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _file(base_dir: Path, loc: Path_, what: str, name: str, check: _Checks) -> None:
    if not (base_dir / name).is_file():
        check.add(loc, f"{what} {name!r} is not a file (relative to {base_dir})")


def check_agents(config: HubConfig, base_dir: Path, check: _Checks, connector_of: dict[str, Any]) -> None:
    if config.hub.tls is not None:
        _file(base_dir, ("hub", "tls", "cert"), "certificate", config.hub.tls.cert, check)
        _file(base_dir, ("hub", "tls", "key"), "key", config.hub.tls.key, check)
    for name, agent in config.agents.items():
        loc: Path_ = ("agents", name)
        if agent.token is None or not agent.token.strip():
            check.add((*loc, "token"), f"agent {name!r} has no token: set one (a secret reference) to admit it by")
        elif len(agent.token) < MIN_TOKEN:
            check.add((*loc, "token"), f"the token of agent {name!r} is too short: at least {MIN_TOKEN} characters")
        url = urlsplit(agent.url)
        if url.scheme not in ("http", "https") or not url.hostname:
            check.add((*loc, "url"), f"not an http(s) address: {agent.url!r}")
        elif url.scheme == "http" and not _loopback(url.hostname):
            check.add((*loc, "url"), "an agent's link to another machine must be https (its token would cross the"
                      " network in clear): serve the hub with `hub.tls`")  # fmt: skip
        if agent.ca is not None:
            _file(base_dir, (*loc, "ca"), "CA certificate", agent.ca, check)
        if agent.store is not None and not agent.store.startswith("sqlite:///"):
            check.add((*loc, "store"), "an agent's buffer is an SQLite store: sqlite:///PATH")
        if not any(s.agent == name for s in config.systems.values()):
            check.add(loc, f"agent {name!r} runs no system: give a system `agent: {name}`")
    for name, system in config.systems.items():
        if system.agent is None:
            continue
        loc = ("systems", name, "agent")
        if system.agent not in config.agents:
            check.dangling(loc, "agents", system.agent)
            continue
        cls = connector_of.get(name)
        if cls is not None and cls.listens:
            check.add(loc, f"system {name!r} ({cls.name}) receives by listening; an agent opens no listening socket")
        by = f"system {name!r} is run by agent {system.agent!r}"
        for entity, spec in config.entities.items():
            if name in spec.subscribers:
                check.add(("entities", entity, "subscribers", name), f"{by}: entities cannot subscribe it yet")
        for flow, flow_spec in config.flows.items():
            for i, step in enumerate(flow_spec.steps):
                looked_up = getattr(getattr(step, "enrich", None), "system", None)
                if looked_up == name:
                    check.add(("flows", flow, "steps", i, "enrich", "system"), f"{by}: the hub cannot look it up")
