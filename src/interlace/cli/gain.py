"""`interlace gain`: what each flow saved, measured from the store's counts (see gain.py)."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.table import Table

from interlace.cli.common import ConfigArg, _load, _with_backend, err, out
from interlace.types import JSONObject


def _number(value: Any, places: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{places}f}"


def gain_command(
    config: ConfigArg,
    days: Annotated[
        int | None, typer.Option(min=1, help="The last N UTC days, today included (default 30).")
    ] = None,
    since: Annotated[str | None, typer.Option(help="From this UTC day (YYYY-MM-DD), included.")] = None,
    until: Annotated[str | None, typer.Option(help="To this UTC day (YYYY-MM-DD), included.")] = None,
    every_day: Annotated[bool, typer.Option("--all", help="Every day the store has counted.")] = False,
    by_day: Annotated[bool, typer.Option("--by-day", help="One row per flow and day.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON (what the API serves).")] = False,
) -> None:
    """Show the gain of each flow: messages handled without a person (received less exceptions)
    times the minutes and cost the flow declares saved per message."""
    from interlace.gain import gain_report

    loaded = _load(config, secrets=False)
    if every_day or since is not None or until is not None:
        if days is not None:
            err.print("--days goes with neither --since/--until nor --all")
            raise typer.Exit(2)
    elif days is None:
        days = 30

    async def work(backend: Any) -> JSONObject:
        return await gain_report(backend, loaded.config, since=since, until=until, days=days)

    try:
        report = _with_backend(config, work)
    except ValueError as exc:
        err.print(f"{exc} (days are YYYY-MM-DD)", markup=False)
        raise typer.Exit(2) from None
    if as_json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
        return
    out.print(_table(report, by_day))


def _table(report: JSONObject, by_day: bool) -> Table:
    since, until = report["since"], report["until"]
    span = f"{since} to {until}" if since or until else "every day counted"
    table = Table(title=f"gain of hub {report['hub']}, {span} (UTC)")
    columns = ["flow", "min/msg", "cost/msg", "received", "exceptions", "handled", "hours saved", "cost saved"]
    if by_day:
        columns.insert(0, "day")
    for column in columns:
        table.add_column(column, justify="left" if column in ("day", "flow") else "right")
    per_message: dict[str, tuple[Any, Any]] = {}
    flows = report["flows"]
    assert isinstance(flows, list)
    for f in flows:
        assert isinstance(f, dict)
        per_message[str(f["flow"])] = (f["minutes_saved_per_message"], f["cost_saved_per_message"])
    rows = report["days"] if by_day else flows
    assert isinstance(rows, list)
    for r in rows:
        assert isinstance(r, dict)
        minutes, cost = per_message.get(str(r["flow"]), (None, None))
        cells = [str(r["flow"]), _number(minutes), _number(cost), _number(r["received"]),
                 _number(r["exceptions"]), _number(r["handled"]), _number(r["hours_saved"]),
                 _number(r["cost_saved"]) if cost is not None else "-"]  # fmt: skip
        table.add_row(*([str(r["day"])] if by_day else []), *cells)
    total = report["total"]
    assert isinstance(total, dict)
    cells = ["total", "", "", _number(total["received"]), _number(total["exceptions"]), _number(total["handled"]),
             _number(total["hours_saved"]), _number(total["cost_saved"])]  # fmt: skip
    table.add_section()
    table.add_row(*([""] if by_day else []), *cells, style="bold")
    return table


def register(app: typer.Typer) -> None:
    app.command("gain")(gain_command)
