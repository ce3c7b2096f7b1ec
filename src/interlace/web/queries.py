"""The read side of the admin surface: one answer per question, asked by the API (web/api.py),
the console (web/console.py) and the CLI (`dlq`, `trace`, `entity show`), so that all three say
the same thing. Every answer is JSON-ready and redacted (no secret value of the config, and no
credential-shaped text, leaves through here)."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from interlace.backends.base import Backend, ExceptionRecord, GoldenChange, GoldenRecord, TraceEntry
from interlace.config.models import HubConfig
from interlace.config.secrets import redact
from interlace.gain import gain_report as measured_gain
from interlace.types import JSON

EXCEPTION_STATUSES = ("open", "retried", "discarded", "resolved", "all")


def exception_row(e: ExceptionRecord) -> dict[str, Any]:
    """One exception as listed (without its message body or history)."""
    return {
        "id": e.id,
        "flow": e.flow,
        "stage": e.stage,
        "owner": e.owner,
        "status": e.status,
        "reason": e.reason,
        "message_id": e.message.id,
        "created_at": e.created_at,
    }


async def exception_rows(
    backend: Backend, *, status: str = "open", flow: str | None = None, owner: str | None = None
) -> list[dict[str, Any]]:
    """Exceptions in one state (`all`: every state), of one flow and owner when given, oldest first."""
    found = await backend.exceptions(status=None if status == "all" else status, flow=flow, owner=owner)
    return list(redact([exception_row(e) for e in found]))


def by_owner(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Rows grouped by owner (`(none)` for an exception nobody owns), owners in name order."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row["owner"] or "(none)", []).append(row)
    return dict(sorted(groups.items()))


async def exception_detail(backend: Backend, exception_id: int) -> dict[str, Any] | None:
    """One exception with its whole message and its history, or None."""
    found = await backend.get_exception(exception_id)
    if found is None:
        return None
    data = asdict(found)
    data["message"] = found.message.to_dict()
    return dict(redact(json.loads(json.dumps(data, default=str))))


def _trace_row(entry: TraceEntry, started: float, previous: float) -> dict[str, Any]:
    row = asdict(entry)
    row["since_start"] = round(max(0.0, entry.at - started), 6)
    row["took"] = round(max(0.0, entry.at - previous), 6)
    return row


async def trace_rows(backend: Backend, message_id: str) -> list[dict[str, Any]]:
    """Every step of a message and of the messages derived from it, in order, each with its input,
    output and status, and its timing: `since_start` (seconds since the message was received) and
    `took` (since the entry before it of the same message)."""
    entries = await backend.trace(message_id)
    if not entries:
        return []
    started = min(e.at for e in entries)
    last: dict[str, float] = {}
    rows = []
    for e in entries:
        rows.append(_trace_row(e, started, last.get(e.message_id, started)))
        last[e.message_id] = e.at
    return list(redact(rows))


async def recent_messages(backend: Backend, *, flow: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """The latest messages received (newest first): id, flow, when, and the body as received."""
    found = await backend.recent_messages(flow=flow, limit=limit)
    rows = [
        {"id": e.message_id, "correlation_id": e.correlation_id, "flow": e.flow, "received_at": e.at, "body": e.input}
        for e in found
    ]
    return list(redact(rows))


def golden_json(record: GoldenRecord, history: list[GoldenChange]) -> dict[str, Any]:
    return {
        "entity": record.entity,
        "key": record.key,
        "status": record.status,
        "version": record.version,
        "merged_into": record.merged_into,
        "updated_at": record.updated_at,
        "values": record.values,
        "provenance": {
            f: {"system": p.system, "at": p.at, "message_id": p.message_id} for f, p in record.provenance.items()
        },
        "history": [
            {"at": h.at, "kind": h.kind, "system": h.system, "change_id": h.change_id, "detail": h.detail}
            for h in history
        ],
    }


async def golden_record(backend: Backend, entity: str, key: str) -> dict[str, Any] | None:
    """A golden record: each field's value and where it came from (system, time, message), and
    the record's history, oldest first; None when the key has none."""
    found = (await backend.golden(entity, [key])).get(key)
    if found is None:
        return None
    return dict(redact(golden_json(found, await backend.golden_history(entity, key))))


async def golden_keys(backend: Backend, entity: str, *, after: str | None = None, limit: int = 50) -> list[JSON]:
    """A page of an entity's golden records in key order (key, status, version, updated)."""
    page = await backend.golden_page(entity, after, limit)
    return list(
        redact([{"key": r.key, "status": r.status, "version": r.version, "updated_at": r.updated_at} for r in page])
    )


def entity_views(config: HubConfig, schemas: dict[str, Any]) -> list[dict[str, Any]]:
    """The config's entities: key, mode, source of truth, field owners, local fields, subscribers."""
    return list(
        redact(
            [
                {
                    "name": name,
                    "key": e.keys,
                    "mode": e.mode,
                    "source_of_truth": e.source_of_truth,
                    "owner": e.owner,
                    "fields": {f: rule.owner for f, rule in e.fields.items()},
                    "local": e.local,
                    "subscribers": sorted(e.subscribers),
                    "schema": schemas.get(name, {}),
                }
                for name, e in config.entities.items()
            ]
        )
    )


def flow_schema(config: HubConfig, schemas: dict[str, Any], flow: str) -> tuple[str, dict[str, Any]] | None:
    """The entity schema a flow's body is checked against (its first `validate` step), if any."""
    found = config.flows.get(flow)
    for step in found.steps if found is not None else []:
        name = getattr(step, "validate_", None)
        if isinstance(name, str) and isinstance(schemas.get(name), dict):
            return name, schemas[name]
    return None


async def flow_stats(backend: Backend, config: HubConfig) -> list[dict[str, Any]]:
    """Each flow of the config with its counts from the store: received, delivered, parked as
    exceptions (ever), open exceptions, backlog, and the error rate (parked / received)."""
    counts = {c.flow: c for c in await backend.counts()}
    backlog = await backend.backlog()
    open_by_flow: dict[str, int] = {}
    for e in await backend.exceptions(status="open"):
        open_by_flow[e.flow] = open_by_flow.get(e.flow, 0) + 1
    rows = []
    for name, flow in config.flows.items():
        c = counts.get(name)
        received, delivered, parked = (c.received, c.delivered, c.exceptions) if c else (0, 0, 0)
        rows.append(
            {
                "name": name,
                "description": flow.description,
                "trigger": {
                    "system": flow.trigger.system,
                    "event": flow.trigger.event,
                    "schedule": flow.trigger.schedule,
                },
                "deliver": [d.system for d in flow.deliver],
                "owner": flow.on_error.owner,
                "received": received,
                "delivered": delivered,
                "exceptions": parked,
                "open_exceptions": open_by_flow.get(name, 0),
                "backlog": backlog.get(name, 0),
                "error_rate": round(parked / received, 4) if received else 0.0,
            }
        )
    return list(redact(rows))


async def gain_report(
    backend: Backend, config: HubConfig, *, since: str | None = None, until: str | None = None, days: int | None = None
) -> dict[str, Any]:
    """The gain report of gain.py (the one `interlace gain` prints): per flow, per flow and day, per
    day, and in all. ValueError for a period that is not one."""
    return dict(redact(await measured_gain(backend, config, since=since, until=until, days=days)))
