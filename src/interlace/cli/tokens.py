"""`interlace token create|list|revoke`: the API tokens of a hub's store (see docs/security.md)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from interlace.backends.base import ROLES
from interlace.cli.common import ConfigArg, _with_backend, cli_actor, err, out

token = typer.Typer(help="API tokens (roles: viewer < operator < admin): create, list, revoke.", no_args_is_help=True)


def when(at: float | None) -> str:
    return "" if at is None else datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@token.command("create")
def create_command(
    config: ConfigArg,
    name: Annotated[str, typer.Option(help="Who or what holds the token (shown in the audit log).")],
    role: Annotated[str, typer.Option(help="viewer (read), operator (also retry/discard), admin (also tokens).")],
) -> None:
    """Make a token and print it once (stdout, alone, so a script can capture it); only its hash is kept."""
    from interlace.web.auth import create_token

    if role not in ROLES:
        err.print(f"--role must be one of {', '.join(ROLES)}, not {role!r}")
        raise typer.Exit(2)
    if not name.strip():
        err.print("--name must not be empty")
        raise typer.Exit(2)
    try:
        secret, _ = _with_backend(config, lambda b: create_token(b, name, role, cli_actor()))
    except ValueError as exc:
        err.print(str(exc))
        raise typer.Exit(1) from None
    sys.stdout.write(secret + "\n")
    err.print(f"token {name!r} ({role}) created; it is shown only now. Send it as 'Authorization: Bearer <token>'.")


@token.command("list")
def list_command(
    config: ConfigArg,
    revoked: Annotated[bool, typer.Option("--all", help="Also the revoked tokens.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List tokens by name and role (never the tokens themselves)."""
    found = _with_backend(config, lambda b: b.tokens(revoked=revoked))
    rows = [
        {"name": t.name, "role": t.role, "created_at": t.created_at, "created_by": t.created_by,
         "revoked_at": t.revoked_at}
        for t in found
    ]  # fmt: skip
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    table = Table(title=f"{len(rows)} token(s)")
    for column in ("name", "role", "created", "by", "revoked"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(r["name"], r["role"], when(r["created_at"]), r["created_by"], when(r["revoked_at"]))
    out.print(table)


@token.command("revoke")
def revoke_command(
    config: ConfigArg,
    name: Annotated[str, typer.Argument(help="The token's name.")],
) -> None:
    """Revoke a token: the next request that presents it is refused (401)."""
    from interlace.web.auth import revoke_token

    if not _with_backend(config, lambda b: revoke_token(b, name, cli_actor())):
        err.print(f"no live token named {name!r}")
        raise typer.Exit(1)
    out.print(f"token {name!r} revoked")


def register(app: typer.Typer) -> None:
    app.add_typer(token, name="token")
