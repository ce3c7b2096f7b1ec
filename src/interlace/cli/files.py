"""`interlace inspect-file`: the first records of a file as JSON, and a copybook's offset table."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from interlace.errors import InterlaceError


def _format_from(fmt: str | None, config: Path | None, system: str | None) -> tuple[Any, Path | None]:
    if fmt is not None:
        parsed = yaml.safe_load(fmt)
        return parsed, None
    if config is None or system is None:
        raise typer.BadParameter("give --format, or --config with --system (a files system)")
    from interlace.cli.common import _load

    loaded = _load(config)
    settings = loaded.system_settings.get(system)
    if settings is None or not hasattr(settings, "format"):
        raise typer.BadParameter(f"system {system!r} in {config} is not a files system")
    return settings.format, loaded.base_dir


def inspect_file_command(
    file: Annotated[Path, typer.Argument(help="The file to read.")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="What a `format:` entry says: a name (csv) or YAML/JSON.")
    ] = None,
    config: Annotated[Path | None, typer.Option(help="Take the format of a system in this config.")] = None,
    system: Annotated[str | None, typer.Option(help="The files system whose format to use.")] = None,
    limit: Annotated[int, typer.Option(help="How many records to show.")] = 10,
) -> None:
    """Print the first records of FILE as JSON lines (a bad record as {"$error": ...}), after the
    field offset table (start, end, length; 1-based) for a copybook (in the form Cobrix prints it:
    an OCCURS table at its maximum, each item of a REDEFINES set sized as the largest) or a
    fixed-width layout."""
    from interlace.formats.inspect import inspect_file

    format_config, base_dir = _format_from(fmt, config, system)
    try:
        records, table = inspect_file(file, format_config, limit, base_dir=base_dir)
    except (InterlaceError, ValueError, OSError) as exc:
        sys.stderr.write(f"{file}: {exc}\n")
        raise typer.Exit(1) from None
    if table and "number" in table[0]:
        from interlace.formats.copybook.layout import layout_text

        sys.stdout.write(layout_text(table) + "\n")
    elif table:
        sys.stdout.write("{:<28} {:>6} {:>6} {:>6} {}\n".format("field", "start", "end", "length", "type"))
        for row in table:
            cells = [row.get(k) for k in ("field", "start", "end", "length", "type")]
            sys.stdout.write("{:<28} {:>6} {:>6} {:>6} {}\n".format(*["" if v is None else v for v in cells]))
        sys.stdout.write("\n")
    for record in records:
        sys.stdout.write(json.dumps(record, default=str) + "\n")


def register(app: typer.Typer) -> None:
    app.command("inspect-file")(inspect_file_command)
