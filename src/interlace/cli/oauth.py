"""`interlace oauth login CONFIG SYSTEM`: the authorization code grant of an http system, once.

Prints the authorization URL (stdout, alone on its line, so a script can open it), listens on the
system's `redirect_uri` for the authorization server's answer, and keeps the tokens it trades the
code for, encrypted, in the hub's store; the running hub refreshes them from then on."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from interlace.cli.common import ConfigArg, _load, _with_backend, err

oauth = typer.Typer(help="OAuth2 grants of http systems.", no_args_is_help=True)


@oauth.command("login")
def login_command(
    config: ConfigArg,
    system: Annotated[str, typer.Argument(help="The http system whose auth is oauth2 authorization_code.")],
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the person to grant access.")] = 300.0,
) -> None:
    """Grant the hub access to a SaaS API as a person, once (authorization code with PKCE)."""
    from interlace.connectors.http import HttpConnector
    from interlace.errors import ConnectorError
    from interlace.hub import StoreState

    loaded = _load(Path(config))
    settings = loaded.system_settings.get(system)
    connector_name = loaded.config.systems[system].connector if system in loaded.config.systems else None
    oauth2 = getattr(getattr(settings, "auth", None), "oauth2", None)
    if connector_name != "http" or oauth2 is None or oauth2.grant != "authorization_code":
        err.print(f"{system!r} is not an http system with auth.oauth2.grant: authorization_code")
        raise typer.Exit(2)
    connector = HttpConnector(system, settings)
    assert connector.tokens is not None

    def show(url: str) -> None:
        err.print(f"Open this URL, and grant access; waiting on {oauth2.redirect_uri} for the answer:")
        sys.stdout.write(url + "\n")
        sys.stdout.flush()

    async def work(backend: Any) -> None:
        connector.use_state(StoreState(backend, system))
        assert connector.tokens is not None
        await connector.tokens.login(show, timeout=timeout)

    try:
        _with_backend(Path(config), work)
    except TimeoutError:
        err.print(f"no answer on {oauth2.redirect_uri} within {timeout:.0f}s")
        raise typer.Exit(1) from None
    except ConnectorError as exc:
        err.print(str(exc))
        raise typer.Exit(1) from None
    err.print(f"{system}: tokens kept (encrypted) in the store; the hub refreshes them from now on")


def register(app: typer.Typer) -> None:
    app.add_typer(oauth, name="oauth")
