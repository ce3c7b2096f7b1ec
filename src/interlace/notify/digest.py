"""What a digest says: its subject and text (email) and its JSON (webhook), from the digest data
the store composed once (so that a notice sent again says the same)."""

from __future__ import annotations

import re
import time
from typing import Any

from interlace.backends.base import Notice
from interlace.types import JSONObject


def key(notice: Notice) -> str:
    """Names this notice for good: the email's Message-ID, the webhook's Idempotency-Key."""
    d = notice.digest
    if d.get("kind") == "tasks":  # a task may be escalated to one owner more than once: named by the notice
        name = f"interlace.{d.get('hub')}.{notice.owner}.tasks.{notice.id}.{notice.channel}"
        return re.sub(r"[^A-Za-z0-9._-]", "-", name)
    name = f"interlace.{d.get('hub')}.{notice.owner}.{d.get('first_id')}-{d.get('last_id')}.{notice.channel}"
    return re.sub(r"[^A-Za-z0-9._-]", "-", name)


def _when(at: Any) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(float(at))) if at is not None else "?"


def subject(d: JSONObject) -> str:
    count = int(d.get("count") or 0)
    if d.get("kind") == "tasks":
        noun = "task waits" if count == 1 else "tasks wait"
        return f"[interlace {d.get('hub')}] {count:,} {noun} for {d.get('owner')}, past their deadline"
    noun = "exception" if count == 1 else "exceptions"
    return f"[interlace {d.get('hub')}] {count:,} {noun} parked for {d.get('owner')}"


def _tasks_text(d: JSONObject) -> str:
    """A reminder: the tasks that passed their deadline and came to this owner."""
    samples = d.get("samples") or []
    assert isinstance(samples, list)
    lines = [f"{d.get('count')} task(s) passed their deadline and now wait for {d.get('owner')} on hub"
             f" {d.get('hub')} ({_when(d.get('at'))}):", ""]  # fmt: skip
    for s in samples:
        assert isinstance(s, dict)
        came = f" (from {s.get('from')})" if s.get("from") != d.get("owner") else ""
        due = f", due {_when(s.get('due_at'))}" if s.get("due_at") is not None else ", overdue"
        lines.append(f"  #{s.get('id')} {s.get('name')} in {s.get('flow')}{came}{due}")
        lines.append(f"      message {s.get('message_id')}, waiting since {_when(s.get('created_at'))}")
    link = d.get("link")
    lines += ["", "Decide them in the console's My tasks" + (f" ({link})" if link else "")
              + ", or by the API: POST /api/tasks/{id}/approve or /reject."]  # fmt: skip
    return "\n".join(lines) + "\n"


def text(d: JSONObject) -> str:
    if d.get("kind") == "tasks":
        return _tasks_text(d)
    count = int(d.get("count") or 0)
    flows = d.get("flows") or {}
    samples = d.get("samples") or []
    assert isinstance(flows, dict) and isinstance(samples, list)
    lines = [
        f"{count:,} message(s) were parked for {d.get('owner')} on hub {d.get('hub')},",
        f"from {_when(d.get('first_at'))} to {_when(d.get('last_at'))}.",
        "",
        "By flow:",
        *(f"  {flow}: {n:,}" for flow, n in sorted(flows.items())),
        "",
    ]
    if samples:
        more = f" (of {count:,})" if count > len(samples) else ""
        lines.append(f"The first {len(samples)}{more}:")
        for s in samples:
            assert isinstance(s, dict)
            reason, stage = str(s.get("reason")), str(s.get("stage"))
            where = "" if reason.startswith(f"{stage}:") else f" at {stage}"  # a reason names its stage
            lines.append(f"  #{s.get('id')} {s.get('flow')}{where}: {reason}")
            lines.append(f"      message {s.get('message_id')}, {_when(s.get('created_at'))}")
        lines.append("")
    link = d.get("link")
    lines.append(f"Retry, edit or discard them: `interlace dlq list CONFIG --owner {d.get('owner')}`"
                 + (f", or {link}" if link else "") + ".")  # fmt: skip
    return "\n".join(lines) + "\n"


def payload(notice: Notice) -> JSONObject:
    """The webhook's JSON body."""
    return {"notice": key(notice), "owner": notice.owner, **notice.digest}
