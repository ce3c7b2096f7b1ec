"""`interlace agent`: run the systems the config assigns to one agent, inside their network,
connected out to the hub (docs/hybrid.md)."""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import Annotated

import typer

from interlace.cli.common import ConfigArg, _load, err, out
from interlace.observability import logging as logs


def agent_command(
    config: ConfigArg,
    name: Annotated[str, typer.Option("--name", "-n", help="Which agent of the config's `agents:` this is.")],
    hub: Annotated[str | None, typer.Option(help="The hub's address (default: the agent's `url`).")] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
    log_format: Annotated[str, typer.Option(help="text or json.")] = "text",
) -> None:
    """Run one agent until SIGINT/SIGTERM: its systems' sources buffer into its own SQLite store and
    go up to the hub; the hub's deliveries to its systems come down over the same outbound link.

    It opens no listening socket. Secrets this machine lacks (those of the hub's own systems) are
    left empty; a system of this agent that needs one fails to connect, and says so."""
    from interlace.agent.runner import AgentRunner, default_store
    from interlace.hub import run_event_loop

    loaded = _load(config, secrets=False)
    cfg = loaded.config
    if name not in cfg.agents:
        known = ", ".join(cfg.agents) or "none"
        err.print(f"{config}: no agent named {name!r} in `agents:` (agents: {known})", markup=False)
        raise typer.Exit(2)
    if not cfg.agents[name].token:
        err.print(f"{config}: agents.{name}.token: its secret is not set on this machine", markup=False)
        raise typer.Exit(2)
    logs.setup(log_level, log_format)
    runner = AgentRunner(loaded, name, url=hub)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await runner.start()
        systems = ", ".join(runner.systems) or "none"
        title = f"[bold green]interlace[/] agent [bold]{name}[/] of hub {cfg.hub.name} -> {runner.url}"
        out.print(title, highlight=False)
        out.print(f"  systems: {systems}   buffer: {runner.settings.store or default_store(name)}", highlight=False)
        sys.stdout.flush()
        try:
            await stop.wait()
        finally:
            await runner.stop()

    run_event_loop(main())


def register(app: typer.Typer) -> None:
    app.command("agent")(agent_command)
