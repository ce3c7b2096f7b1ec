"""`interlace audit`: the store's log of mutating calls (who, what, on what, when, outcome)."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from typing import Annotated

import typer
from rich.table import Table

from interlace.cli.common import ConfigArg, _with_backend, out


def audit_command(
    config: ConfigArg,
    limit: Annotated[int, typer.Option(help="How many of the latest lines.")] = 100,
    actor: Annotated[str | None, typer.Option(help="Only this token's (or `cli:<user>`'s) lines.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the audit log, newest first."""
    from interlace.cli.tokens import when

    entries = _with_backend(config, lambda b: b.audit_log(limit=limit, actor=actor))
    if as_json:
        sys.stdout.write(json.dumps([asdict(e) for e in entries], indent=2) + "\n")
        return
    table = Table(title=f"{len(entries)} audit line(s), newest first")
    for column in ("when", "who", "what", "target", "outcome", "detail"):
        table.add_column(column, overflow="fold")
    for e in entries:
        detail = ", ".join(f"{k}={v}" for k, v in e.detail.items())
        table.add_row(when(e.at), e.actor, e.action, e.target, e.outcome, detail)
    out.print(table)


def register(app: typer.Typer) -> None:
    app.command("audit")(audit_command)
