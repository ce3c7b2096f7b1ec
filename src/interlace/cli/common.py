"""What every command module shares: the consoles, the config argument, and loading the config
(exit 2 listing every problem). `main.py` registers the command modules; they import this, never
`main.py`."""

from __future__ import annotations

import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from interlace.config.loader import LoadedConfig, load_config, load_hub_settings
from interlace.config.models import HubSettings
from interlace.errors import ConfigError

T = TypeVar("T")

# Off a terminal (a pipe, a file, CI) rich would fold every line at 80 columns: lines there are
# as long as their content, so that tables keep one row per line and no text is cut.
out = Console(width=None if sys.stdout.isatty() else 100_000)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 100_000)

ConfigArg = Annotated[Path, typer.Argument(help="The hub config file (hub.yaml).")]


def _load(config: Path, *, secrets: bool = True) -> LoadedConfig:
    """The checked config, or exit 2 listing every problem. Commands that only read or write the
    hub's store (trace, dlq, send) pass `secrets=False`: they never talk to a system, so an unset
    secret does not stop them."""
    try:
        return load_config(config, missing_secret=None if secrets else (lambda reference: ""))
    except ConfigError as exc:
        lines = [f"{config}: {len(exc.problems)} problem(s)", *(f"  {p}" for p in exc.problems)]
        sys.stderr.write("\n".join(lines) + "\n")
        raise typer.Exit(2) from None


def _hub_settings(config: Path) -> HubSettings:
    """The config's `hub` section, for commands that only read or write the hub's store. While
    an edit with problems is on disk (a running hub refused it and keeps the previous config),
    they still reach the store: the `hub` section alone is read, with a warning."""
    try:
        return load_config(config, missing_secret=lambda reference: "").config.hub
    except ConfigError as exc:
        problems = exc.problems
    try:
        settings = load_hub_settings(config)
    except ConfigError:
        lines = [f"{config}: {len(problems)} problem(s)", *(f"  {p}" for p in problems)]
        sys.stderr.write("\n".join(lines) + "\n")
        raise typer.Exit(2) from None
    sys.stderr.write(
        f"warning: {config} has {len(problems)} problem(s) (`interlace validate` lists them); "
        f"reading the store its hub section names, {settings.store}\n"
    )
    return settings


def _with_backend(config: Path, work: Callable[[Any], Awaitable[T]]) -> T:
    from interlace.backends import open_backend

    hub = _hub_settings(config)

    async def main() -> T:
        backend = open_backend(hub.store, base_dir=config.parent, durable=hub.durable, bus=hub.bus)
        await backend.open()
        try:
            return await work(backend)
        finally:
            await backend.close()

    return asyncio.run(main())


def cli_actor() -> str:
    """Who an audit line names for a command run from the shell."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"
