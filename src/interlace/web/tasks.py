"""Human tasks for the API and the console: what a task looks like when listed or opened, whose
they are (the owner groups a token's name is a member of), and the one way a task is decided:
by a member of its owner group, editing only the fields its config lets them edit, validated
against its entity's schema, audited, and at most once (a second decision is a conflict)."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator

from interlace.backends.base import AuditEntry, Backend, TaskDecision, TaskRecord, Verdict
from interlace.backends.tasks import changed_fields
from interlace.config.loader import LoadedConfig
from interlace.config.models import HubConfig, Task, TaskStep
from interlace.config.secrets import redact
from interlace.types import JSON

TASK_STATUSES = ("open", "approved", "rejected", "all")


def task_config(config: HubConfig, task: TaskRecord) -> Task | None:
    """The config of the step a task waits at (None: not in the running config)."""
    flow = config.flows.get(task.flow)
    if flow is None or not 0 <= task.position < len(flow.steps):
        return None
    step = flow.steps[task.position]
    return step.task if isinstance(step, TaskStep) else None


def groups_of(config: HubConfig, name: str) -> list[str]:
    """The owner groups that list `name` (a token's name) among their members."""
    return [owner for owner, spec in config.owners.items() if name in spec.members]


def task_row(task: TaskRecord, now: float) -> dict[str, Any]:
    """One task as listed: without its message body and history."""
    overdue = task.status == "open" and (task.overdue_since is not None or (task.due_at is not None
                                                                          and task.due_at <= now))  # fmt: skip
    return {
        "id": task.id, "name": task.name, "flow": task.flow, "owner": task.owner, "status": task.status,
        "level": task.level, "due_at": task.due_at, "overdue": overdue, "created_at": task.created_at,
        "decided_by": task.decided_by, "decided_at": task.decided_at, "message_id": task.message.id,
    }  # fmt: skip


def task_detail(task: TaskRecord, config: HubConfig, now: float) -> dict[str, Any]:
    """One task with its message, history and rules (who decides, what may be edited)."""
    rules = task_config(config, task)
    data = {
        **task_row(task, now),
        "message": task.message.to_dict(),
        "history": task.history,
        "entity": rules.entity if rules is not None else None,
        "editable": list(rules.editable) if rules is not None else [],
        "members": list(config.owners[task.owner].members) if task.owner in config.owners else [],
    }
    return dict(redact(json.loads(json.dumps(data, default=str))))


async def task_rows(
    backend: Backend, now: float, *, status: str = "open", owners: Sequence[str] | None = None,
    overdue: bool = False, limit: int = 1000,
) -> list[dict[str, Any]]:  # fmt: skip
    """Tasks in one state (`all`: every state), of these owners when given, oldest first; with
    `overdue`, only the open ones past their deadline."""
    found = await backend.tasks(status=None if status == "all" else status, owners=owners, limit=limit)
    rows = [task_row(t, now) for t in found]
    return list(redact([r for r in rows if r["overdue"] or not overdue]))


def by_owner(rows: list[dict[str, Any]], config: HubConfig) -> list[dict[str, Any]]:
    """Every owner group of the config (and any a task names) with its tasks and their count."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row["owner"], []).append(row)
    return [{"owner": name, "members": list(config.owners[name].members) if name in config.owners else [],
             "count": len(groups.get(name, [])), "overdue": sum(r["overdue"] for r in groups.get(name, [])),
             "tasks": groups.get(name, [])}
            for name in sorted(set(config.owners) | set(groups))]  # fmt: skip


@dataclass
class Refused(Exception):
    """A decision not taken: its HTTP status and why."""

    status: int
    text: str

    def __str__(self) -> str:
        return self.text


def editable(path: str, fields: Sequence[str]) -> bool:
    """Whether the field at dotted `path` is one of (or inside one of) the `editable` fields."""
    return any(path == e or path.startswith(e + ".") for e in fields)


def check_edit(task: TaskRecord, rules: Task | None, schemas: dict[str, Any], body: JSON) -> None:
    """Refuse (400) an edit that changes a field the task's config does not let one edit, or
    leaves a body its entity's schema refuses."""
    changed = changed_fields(task.message.body, body)
    allowed = rules.editable if rules is not None else []
    refused = [p for p in changed if not editable(p, allowed)]
    if refused:
        named = ", ".join(allowed) if allowed else "none"
        raise Refused(400, f"{', '.join(refused)}: not editable in this task (editable: {named})")
    schema = schemas.get(rules.entity) if rules is not None and rules.entity else None
    if schema:
        errors = sorted(Draft202012Validator(schema).iter_errors(body), key=lambda e: list(e.absolute_path))
        if errors:
            e = errors[0]
            raise Refused(400, f"{'/'.join(str(p) for p in e.absolute_path) or '(body)'}: {e.message}")


async def decide(
    backend: Backend,
    loaded: LoadedConfig,
    actor: str,
    task_id: int,
    verdict: Verdict,
    *,
    body: JSON = None,
    comment: str | None = None,
    now: float | None = None,
    detail: dict[str, JSON] | None = None,
) -> TaskRecord:
    """Decide a task as `actor` (a token's name), audited; Refused says why not (404 no such task,
    409 decided before or meanwhile, 403 not a member of its owner group, 400 a refused edit)."""
    at = now if now is not None else time.time()
    audit = {**(detail or {}), "edited": body is not None, "comment": comment}
    try:
        task = await backend.get_task(task_id)
        if task is None:
            raise Refused(404, "no task with this id")
        if task.status != "open":
            raise Refused(409, _decided_text(task))
        config = loaded.config
        if task.owner not in groups_of(config, actor):
            raise Refused(403, f"only the members of {task.owner!r} may decide this task; {actor!r} is not one")
        rules = task_config(config, task)
        if body is not None:
            if verdict != "approve":
                raise Refused(400, "only an approval takes an edited body")
            check_edit(task, rules, loaded.schemas, body)
        done = await backend.decide_task(task_id, TaskDecision(verdict, actor, at, body, comment, task.owner))
        if done is None:  # decided by someone else (or escalated) between the read and now
            again = await backend.get_task(task_id)
            if again is not None and again.status == "open":
                raise Refused(409, f"the task moved to {again.owner!r} meanwhile")
            raise Refused(409, _decided_text(again) if again is not None else "no task with this id")
    except Refused as refused:
        await backend.record_audit(AuditEntry(actor, f"task.{verdict}", str(task_id), refused.text, audit))
        raise
    await backend.record_audit(AuditEntry(actor, f"task.{verdict}", str(task_id), "ok", audit))
    return done


def _decided_text(task: TaskRecord) -> str:
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(task.decided_at or 0))
    return f"already {task.status} by {task.decided_by} at {when}"
