"""Database systems from the command line: `interlace inspect`, `interlace db install-capture`,
and the column warnings `interlace validate --live` prints."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from interlace.config.loader import LoadedConfig
from interlace.config.models import MapStep
from interlace.errors import InterlaceError
from interlace.mapping.shape import constructed_fields

db = typer.Typer(help="Database systems: change capture.", no_args_is_help=True)


def _sql_settings(loaded: LoadedConfig, system: str) -> Any:
    from interlace.connectors.sql.settings import SqlSettings

    settings = loaded.system_settings.get(system)
    if not isinstance(settings, SqlSettings):
        names = [n for n, s in loaded.system_settings.items() if isinstance(s, SqlSettings)]
        sys.stderr.write(f"{system!r} is not a database system; database systems: {', '.join(names) or 'none'}\n")
        raise typer.Exit(2)
    return settings


def inspect_command(
    config: Annotated[Path, typer.Argument(help="The hub config file.")],
    system: Annotated[str, typer.Argument(help="A database system (sqlite, postgres, mysql).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List a database system's tables and columns (type, nullable, default, primary key)."""
    from interlace.cli.common import _load
    from interlace.connectors.sql.admin import inspect

    loaded = _load(config)
    settings = _sql_settings(loaded, system)
    try:
        tables = asyncio.run(inspect(settings, system))
    except InterlaceError as exc:
        sys.stderr.write(f"{system}: {exc}\n")
        raise typer.Exit(1) from None
    if as_json:
        sys.stdout.write(json.dumps([t.as_dict() for t in tables], indent=2) + "\n")
        return
    for table in tables:
        sys.stdout.write(
            f"{table.name}" + (f"  (primary key: {', '.join(table.primary_key)})" if table.primary_key else "") + "\n"
        )
        for col in table.columns:
            flags = ("" if col.nullable else " NOT NULL") + (" DEFAULT" if col.has_default else "")
            sys.stdout.write(f"  {col.name:<30} {col.type}{flags}\n")


@db.command("install-capture")
def install_capture_command(
    config: Annotated[Path, typer.Argument(help="The hub config file.")],
    system: Annotated[str, typer.Argument(help="A database system.")],
    table: Annotated[str, typer.Argument(help="The table whose inserts, updates and deletes to capture.")],
) -> None:
    """Install the trigger-fed outbox that captures a table's changes (deletes too), so a flow can
    trigger on them without polling; safe to run again after the table changes."""
    from interlace.cli.common import _load
    from interlace.connectors.sql.admin import install_capture

    loaded = _load(config)
    settings = _sql_settings(loaded, system)
    try:
        statements = asyncio.run(install_capture(settings, table, system))
    except InterlaceError as exc:
        sys.stderr.write(f"{system}: {exc}\n")
        raise typer.Exit(1) from None
    sys.stdout.write(f"capture installed on {system}.{table} ({len(statements)} statements)\n")


def column_warnings(loaded: LoadedConfig) -> list[str]:
    """For each delivery into a database table after a mapping whose fields can be read from its
    text: columns it writes that the table lacks, and NOT NULL columns without a default it omits.
    Connects to each database system once per delivery."""
    from interlace.connectors.sql.admin import check_columns
    from interlace.connectors.sql.settings import SqlSettings

    found: list[str] = []
    for name, flow in loaded.config.flows.items():
        maps = [s for s in flow.steps if isinstance(s, MapStep)]
        written = constructed_fields(maps[-1].map) if maps else None
        if written is None:
            continue
        for i, delivery in enumerate(flow.deliver):
            settings = loaded.system_settings.get(delivery.system)
            table = delivery.extras.get("table")
            if not isinstance(settings, SqlSettings) or not isinstance(table, str):
                continue
            try:
                problems = asyncio.run(check_columns(settings, table, written, delivery.system))
            except InterlaceError as exc:
                problems = [f"cannot check: {exc}"]
            found += [f"flows.{name}.deliver[{i}] ({delivery.system}.{table}): {p}" for p in problems]
    return found


def register(app: typer.Typer) -> None:
    app.command("inspect")(inspect_command)
    app.add_typer(db, name="db")
