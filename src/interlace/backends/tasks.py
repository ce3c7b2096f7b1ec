"""What a human task's decision and escalation write, the same in every store backend: the
backends run the SQL, these say what the rows, the resumed message, the exception, the trace and
the reminders hold."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from interlace.backends.base import (
    NewWork,
    ParkedException,
    TaskDecision,
    TaskEscalation,
    TaskRecord,
    TraceEntry,
    TraceStatus,
)
from interlace.message import Message
from interlace.types import JSON

TASK_COLUMNS = (
    "id, message, flow, position, name, owner, status, level, due_at, created_at, reject_owner, overdue_since,"
    " decided_by, decided_at, history"
)
"""The columns a TaskRecord is read from, in its fields' order."""

HEADER = "interlace-task"
"""The message header an approved message carries its decision in (JSON text)."""


def task_record(row: Sequence[Any], *, history: bool = True) -> TaskRecord:
    values = list(row)
    values[1] = Message.from_json(values[1])
    values[-1] = json.loads(values[-1]) if history else []
    return TaskRecord(*values)


def created_line(owner: str, at: float) -> str:
    """The first line of a new task's history (stored text)."""
    return json.dumps([{"kind": "created", "at": at, "by": "interlace", "owner": owner}])


def changed_fields(before: JSON, after: JSON, prefix: str = "") -> list[str]:
    """The dotted paths of the fields an edit changed."""
    if not isinstance(before, dict) or not isinstance(after, dict):
        return [prefix] if before != after and prefix else []
    changed = []
    for name in sorted(set(before) | set(after)):
        path = f"{prefix}.{name}" if prefix else name
        if isinstance(before.get(name), dict) and isinstance(after.get(name), dict):
            changed += changed_fields(before[name], after[name], path)
        elif before.get(name) != after.get(name) or (name in before) != (name in after):
            changed.append(path)
    return changed


@dataclass
class Decided:
    """What a decision writes: the task's new status and history, and either the message back in
    its flow (`resume`) or its exception (`park`), with the trace line that says which."""

    status: str
    history: list[dict[str, JSON]]
    trace: TraceEntry
    resume: NewWork | None = None
    park: ParkedException | None = None


def decided(task: TaskRecord, decision: TaskDecision) -> Decided:
    msg = task.message
    approve = decision.verdict == "approve"
    status: TraceStatus = "approved" if approve else "rejected"
    body = decision.body if approve and decision.body is not None else msg.body
    line: dict[str, JSON] = {"kind": status, "at": decision.at, "by": decision.by, "owner": task.owner,
                             "comment": decision.comment, "edited": changed_fields(msg.body, body)}  # fmt: skip
    history = [*task.history, line]
    header = {"task": task.name, "id": task.id, "decision": status, "by": decision.by, "at": decision.at,
              "comment": decision.comment, "edited": line["edited"]}  # fmt: skip
    out = msg.replace(body=body, headers={**msg.headers, HEADER: json.dumps(header)})
    trace = TraceEntry(msg.id, msg.correlation_id, task.flow, task.position, task.name, status, 0, msg.body,
                       {k: v for k, v in header.items() if k != "task"} | {"body": body}, at=time.time())  # fmt: skip
    if approve:
        return Decided(status, history, trace, resume=NewWork(out, task.position + 1))
    reason = f"{task.name}: rejected by {decision.by}" + (f": {decision.comment}" if decision.comment else "")
    trace.error = reason
    return Decided(status, history, trace, park=ParkedException(out, task.position, task.name, task.reject_owner,
                                                                 reason))  # fmt: skip


def escalated(task: TaskRecord, move: TaskEscalation) -> tuple[list[dict[str, JSON]], TraceEntry]:
    """The history and trace line of a task moved past its deadline."""
    line: dict[str, JSON] = {"kind": "escalated", "at": move.at, "by": "interlace", "from": task.owner,
                             "owner": move.owner, "due_at": move.due_at}  # fmt: skip
    msg = task.message
    trace = TraceEntry(msg.id, msg.correlation_id, task.flow, task.position, task.name, "escalated", task.level + 1,
                       None, {"from": task.owner, "to": move.owner, "due_at": move.due_at}, at=time.time())  # fmt: skip
    return [*task.history, line], trace


def reminders(
    moved: Sequence[tuple[TaskRecord, TaskEscalation]], context: Mapping[str, JSON] | None
) -> list[tuple[str, str, str, dict[str, JSON]]]:
    """One reminder per new owner and channel for the tasks moved together: (owner, channel,
    target, digest), the digest as notify/digest.py reads a `tasks` one."""
    by_owner: dict[str, list[tuple[TaskRecord, TaskEscalation]]] = {}
    for task, move in moved:
        if move.remind:
            by_owner.setdefault(move.owner, []).append((task, move))
    out = []
    for owner, pairs in by_owner.items():
        samples: list[JSON] = [
            {"id": t.id, "name": t.name, "flow": t.flow, "message_id": t.message.id, "from": t.owner,
             "due_at": m.due_at, "created_at": t.created_at}
            for t, m in pairs
        ]  # fmt: skip
        digest: dict[str, JSON] = {**(context or {}), "kind": "tasks", "owner": owner, "count": len(pairs),
                                   "first_id": pairs[0][0].id, "last_id": pairs[-1][0].id,
                                   "at": pairs[0][1].at, "samples": samples}  # fmt: skip
        for channel, target in dict.fromkeys(c for _, m in pairs for c in m.remind):
            out.append((owner, channel, target, digest))
    return out
