"""The console's task pages under /console/tasks: my tasks (those of the owner groups whose
members list my token's name), tasks by owner, the overdue ones, the decided ones, and one task
with its decision form, made from its entity's schema (only the fields its config lets one edit
are inputs). Reads and decisions go through web/tasks.py, as the API's do."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from interlace.backends.base import Role
from interlace.web import auth, forms, sessions, tasks
from interlace.web.console import Console
from interlace.web.operations import MAX_ID

VIEWS = (
    ("mine", "/console/tasks", "My tasks"),
    ("owners", "/console/tasks/owners", "By owner"),
    ("overdue", "/console/tasks/overdue", "Overdue"),
    ("decided", "/console/tasks/decided", "Decision history"),
)


class TaskPages:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.hub = console.api.hub

    def _now(self) -> float:
        return self.hub.clock.time()

    def _list(self, request: Request, view: str, **context: Any) -> Response:
        return self.console.page(request, "tasks.html", view=view, views=VIEWS, **context)

    async def mine(self, request: Request) -> Response:
        groups = tasks.groups_of(self.hub.loaded.config, request.state.token.name)
        rows = await tasks.task_rows(self.console.backend, self._now(), owners=groups)
        return self._list(request, "mine", rows=rows, groups=groups)

    async def owners(self, request: Request) -> Response:
        rows = await tasks.task_rows(self.console.backend, self._now())
        return self._list(request, "owners", owners=tasks.by_owner(rows, self.hub.loaded.config))

    async def overdue(self, request: Request) -> Response:
        rows = await tasks.task_rows(self.console.backend, self._now(), overdue=True)
        return self._list(request, "overdue", rows=rows)

    async def decided(self, request: Request) -> Response:
        rows = await tasks.task_rows(self.console.backend, self._now(), status="all")
        done = sorted((r for r in rows if r["status"] != "open"), key=lambda r: -(r["decided_at"] or 0))
        return self._list(request, "decided", rows=done)

    def _task_id(self, request: Request) -> int | None:
        text = request.path_params["task_id"]
        return int(text) if text.isdigit() and 1 <= int(text) <= MAX_ID else None

    async def task(self, request: Request, problem: str | None = None, status: int = 200,
                   sent: dict[str, str] | None = None) -> Response:  # fmt: skip
        task_id = self._task_id(request)
        found = None if task_id is None else await self.console.backend.get_task(task_id)
        if found is None:
            return self.console.refuse(request, 404, "No such task.")
        loaded = self.hub.loaded
        detail = tasks.task_detail(found, loaded.config, self._now())
        schema = loaded.schemas.get(detail["entity"], {}) if detail["entity"] else {}
        body = detail["message"]["body"]
        fields = forms.fields(schema, body) if isinstance(body, dict) else []
        editable = {f.name for f in fields if tasks.editable(f.label, detail["editable"])}
        for f in fields:
            if sent and f.name in editable:
                f.value = sent.get(f.name, "") if f.kind != "boolean" else ("true" if f.name in sent else "")
        token = request.state.token
        may = found.status == "open" and found.owner in tasks.groups_of(loaded.config, token.name)
        return self.console.page(request, "task.html", status, t=detail, fields=fields, editable=editable,
                                 problem=problem, may_decide=may and auth.allows(token.role, "operator"),
                                 raw=json.dumps(body, indent=2, ensure_ascii=False))  # fmt: skip

    async def decide(self, request: Request) -> Response:
        task_id = self._task_id(request)
        if task_id is None:
            return self.console.refuse(request, 404, "No such task.")
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        verdict = form.get("verdict")
        if verdict not in ("approve", "reject"):
            return await self.task(request, problem="Choose approve or reject.", status=400, sent=form)
        found = await self.console.backend.get_task(task_id)
        if found is None:
            return self.console.refuse(request, 404, "No such task.")
        edited: Any = None
        if verdict == "approve" and any(k.startswith("f.") for k in form):
            loaded = self.hub.loaded
            rules = tasks.task_config(loaded.config, found)
            schema = loaded.schemas.get(rules.entity, {}) if rules is not None and rules.entity else {}
            try:
                shown = _with_fixed_fields(form, schema, found.message.body, rules.editable if rules else [])
                edited = forms.body_from_form(schema, found.message.body, shown)
            except forms.FormProblem as exc:
                return await self.task(request, problem=str(exc), status=400, sent=form)
            if edited == found.message.body:
                edited = None
        actor, detail = auth.caller(request)
        try:
            await tasks.decide(self.console.backend, self.hub.loaded, actor, task_id, verdict,  # type: ignore[arg-type]
                               body=edited, comment=form.get("comment") or None, detail=detail)  # fmt: skip
        except tasks.Refused as refused:
            return await self.task(request, problem=refused.text, status=refused.status, sent=form)
        note = "approved" if verdict == "approve" else "rejected"
        note += " with the edited data" if edited is not None else ""
        return RedirectResponse(f"/console/tasks/{task_id}?" + urlencode({"note": note}), 303)

    def routes(self) -> list[BaseRoute]:
        guarded: list[tuple[str, Any, str, Role]] = [
            ("/tasks", self.mine, "GET", "viewer"),
            ("/tasks/owners", self.owners, "GET", "viewer"),
            ("/tasks/overdue", self.overdue, "GET", "viewer"),
            ("/tasks/decided", self.decided, "GET", "viewer"),
            ("/tasks/{task_id}", self.task, "GET", "viewer"),
            ("/tasks/{task_id}/decide", self.decide, "POST", "operator"),
        ]
        backend, refuse = self.console.backend, self.console.refuse
        return [Route(path, sessions.requires(role, page, backend, refuse), methods=[method])
                for path, page, method, role in guarded]  # fmt: skip


def _with_fixed_fields(form: dict[str, str], schema: dict[str, Any], body: Any, editable: list[str]
                       ) -> dict[str, str]:  # fmt: skip
    """The form as sent, with the fields one may not edit at their own values: the page shows them
    read-only (a browser sends no disabled input), so they are not taken as emptied."""
    out = dict(form)
    for f in forms.fields(schema, body):
        if tasks.editable(f.label, editable):
            continue
        out.pop(f.name, None)
        if f.kind != "boolean" or f.value:
            out[f.name] = f.value
    return out
