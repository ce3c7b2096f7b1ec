"""`interlace entity show|diff|merge` and `interlace backfill`: golden records from the command line."""

from __future__ import annotations

import asyncio
import csv
import json
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from interlace.backends import open_backend
from interlace.backends.base import Backend
from interlace.cli.common import ConfigArg, _load, err, out
from interlace.config.loader import LoadedConfig
from interlace.config.secrets import redact
from interlace.connectors import registry
from interlace.connectors.base import Connector
from interlace.entities.backfill import backfill as run_backfill
from interlace.entities.diff import diff as run_diff
from interlace.entities.duplicates import MergeRefused, merge_duplicates
from interlace.entities.readers import Reader, reader_for
from interlace.entities.rules import EntityRules
from interlace.web import queries

T = TypeVar("T")

entity_app = typer.Typer(help="Golden records of entities: show, diff, merge duplicates.", no_args_is_help=True)
EntityArg = Annotated[str, typer.Argument(help="The entity (a name under `entities:`).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@dataclass
class Session:
    loaded: LoadedConfig
    rules: EntityRules
    backend: Backend
    connectors: dict[str, Connector]

    def readers(self) -> tuple[list[Reader], list[str]]:
        """Readers of the entity's subscribers, and the subscribers that cannot be read."""
        entity = self.loaded.config.entities[self.rules.name]
        found, unreadable = [], []
        for system, sub in entity.subscribers.items():
            connector = self.connectors.get(system)
            reader = reader_for(system, sub, connector) if connector is not None else None
            if reader is None:
                unreadable.append(system)
            else:
                found.append(reader)
        return found, unreadable


@asynccontextmanager
async def _session(loaded: LoadedConfig, entity: str) -> AsyncIterator[Session]:
    cfg = loaded.config
    rules = EntityRules.from_config(entity, cfg.entities[entity], loaded.schemas.get(entity))
    backend = open_backend(cfg.hub.store, base_dir=loaded.base_dir, durable=cfg.hub.durable, bus=cfg.hub.bus)
    connectors: dict[str, Connector] = {}
    for system in cfg.entities[entity].subscribers:
        cls = registry.get(cfg.systems[system].connector)
        if cls is not None:
            connectors[system] = cls(system, loaded.system_settings[system])
    await backend.open()
    from interlace.hub import StoreState

    for system, connector in connectors.items():  # an http system's OAuth2 tokens, as the hub keeps them
        connector.use_state(StoreState(backend, system))
    try:
        yield Session(loaded, rules, backend, connectors)
    finally:
        for connector in connectors.values():
            await connector.close()
        await backend.close()


def _run(config: Path, entity: str, work: Callable[[Session], Awaitable[T]]) -> T:
    loaded = _load(config)
    if entity not in loaded.config.entities:
        err.print(f"no entity named {entity!r}; entities: {', '.join(loaded.config.entities) or '(none)'}")
        raise typer.Exit(2)

    async def main() -> T:
        async with _session(loaded, entity) as session:
            return await work(session)

    return asyncio.run(main())


def _when(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S")


@entity_app.command("show")
def show(
    config: ConfigArg,
    entity: EntityArg,
    key: Annotated[str, typer.Argument(help="The record's key ('|' between the parts of a composite key).")],
    as_json: JsonOpt = False,
) -> None:
    """The golden record of one key: each field's value and where it came from, and its history."""

    async def work(s: Session) -> dict[str, Any] | None:
        return await queries.golden_record(s.backend, entity, key)

    data = _run(config, entity, work)
    if data is None:
        err.print(f"{entity} {key!r} has no golden record")
        raise typer.Exit(1)
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
        return
    merged = f" into {data['merged_into']}" if data["merged_into"] else ""
    out.print(f"[bold]{entity} {key}[/]  {data['status']}{merged}  version {data['version']}", highlight=False)
    table = Table("field", "value", "from", "at", "message")
    for name, value in data["values"].items():
        source = data["provenance"].get(name)
        table.add_row(
            name,
            json.dumps(value, default=str),
            source["system"] if source else "",
            _when(source["at"]) if source else "",
            source["message_id"] if source else "",
        )
    out.print(table)
    lines = Table("at", "change", "from", "details", title="history")
    for h in data["history"]:
        lines.add_row(_when(h["at"]), h["kind"], h["system"], json.dumps(h["detail"], default=str))
    out.print(lines)


@entity_app.command("diff")
def diff(config: ConfigArg, entity: EntityArg, as_json: JsonOpt = False) -> None:
    """Where the systems' current data disagrees with the golden records (read through each
    system's connector). Exit 1 when anything differs."""

    async def work(s: Session) -> tuple[list[Any], list[str]]:
        readers, unreadable = s.readers()
        return await run_diff(s.rules, s.backend, readers), unreadable

    found, unreadable = _run(config, entity, work)
    rows = redact([d.as_json() for d in found])
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2, default=str) + "\n")
    else:
        for system in unreadable:
            err.print(f"{system}: not read (give `read:` in its subscription to compare it)")
        columns = ("system", "key", "field", "system value", "golden value", "note")
        table = Table(*columns, title=f"{len(rows)} difference(s)")
        for r in rows:
            table.add_row(r["system"], r["key"], r["field"] or "(record)", json.dumps(r["system_value"], default=str),
                          json.dumps(r["golden_value"], default=str), r["note"])  # fmt: skip
        out.print(table)
    if rows:
        raise typer.Exit(1)


@entity_app.command("merge")
def merge(
    config: ConfigArg,
    entity: EntityArg,
    keep: Annotated[str, typer.Argument(help="The key that stays.")],
    drop: Annotated[str, typer.Argument(help="The key found to be the same record; it goes.")],
) -> None:
    """Merge two golden records of the same thing: KEEP gains DROP's missing fields, every system
    gets KEEP and a delete of DROP (a running hub delivers them)."""

    async def work(s: Session) -> Any:
        return await merge_duplicates(s.rules, s.backend, keep, drop)

    try:
        plan = _run(config, entity, work)
    except MergeRefused as exc:
        err.print(f"merge refused: {exc}")
        raise typer.Exit(1) from None
    gained = ", ".join(plan.gained) or "nothing"
    out.print(f"merged {entity} {drop} into {keep}: gained {gained}; queued for {', '.join(plan.deliveries) or '-'}")


def backfill(
    config: ConfigArg,
    entity: EntityArg,
    batch: Annotated[int, typer.Option(help="Records per page (one transaction each).")] = 1000,
    restart: Annotated[bool, typer.Option(help="Start a new run instead of resuming an interrupted one.")] = False,
    report: Annotated[Path | None, typer.Option(help="Write the conflict report to this CSV file.")] = None,
) -> None:
    """Build the golden records from the systems' current data (source of truth first), with a
    progress bar. Interrupted, it resumes where it stopped; it ends with a conflict report."""

    async def work(s: Session) -> Any:
        readers, unreadable = s.readers()
        for system in unreadable:
            err.print(f"{system}: not read (give `read:` in its subscription to include it)")
        totals = {r.system: await r.count() for r in readers}
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err
        ) as bar:
            tasks = {system: bar.add_task(system, total=total) for system, total in totals.items()}
            result = await run_backfill(
                s.rules, s.backend, readers, batch=batch, restart=restart,
                progress=lambda system, n: bar.advance(tasks[system], n),
            )  # fmt: skip
        return result

    started = time.monotonic()
    result = _run(config, entity, work)
    took = time.monotonic() - started
    read = ", ".join(f"{system} {n}" for system, n in result.records.items()) or "nothing left"
    out.print(
        f"backfill of {entity} {'resumed' if result.resumed else 'run'} {result.run}: read {read} in {took:.1f}s; "
        f"{len(result.conflicts)} conflict(s); {result.incomplete} incomplete record(s)",
        highlight=False,
        soft_wrap=True,
    )
    if report is not None:
        with report.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, ["key", "field", "system", "value", "golden", "owner"])
            writer.writeheader()
            writer.writerows(redact(result.conflicts))
        out.print(f"conflict report: {report}")
    elif result.conflicts:
        table = Table("key", "field", "system says", "owner", "golden", title="conflicts (first 20; --report for all)")
        for c in result.conflicts[:20]:
            table.add_row(c["key"], c["field"], f"{c['system']}: {json.dumps(c['value'], default=str)}", c["owner"],
                          json.dumps(c["golden"], default=str))  # fmt: skip
        out.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(entity_app, name="entity")
    app.command("backfill")(backfill)
