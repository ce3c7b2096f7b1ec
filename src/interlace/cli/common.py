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

from interlace.config.loader import LoadedConfig, load_config
from interlace.errors import ConfigError

T = TypeVar("T")

out = Console()
err = Console(stderr=True)

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


def _with_backend(config: Path, work: Callable[[Any], Awaitable[T]]) -> T:
    from interlace.backends import open_backend

    loaded = _load(config, secrets=False)

    async def main() -> T:
        backend = open_backend(
            loaded.config.hub.store, base_dir=loaded.base_dir, durable=loaded.config.hub.durable
        )
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
