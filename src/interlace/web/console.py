"""The web console under /console: server-rendered pages (templates in web/templates, one small
script and one stylesheet in web/static, shipped in the package: nothing to build), behind a
session that an API token opens at the login page (web/sessions.py). Every page reads through
the same query layer as the API and the CLI (web/queries.py), and every action goes through the
same audited actions (web/actions.py)."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from importlib import resources
from typing import Any
from urllib.parse import quote, urlencode

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from interlace.backends.base import AuditEntry, Role
from interlace.config.secrets import redact
from interlace.web import actions, auth, forms, queries, sessions
from interlace.web.api import Api
from interlace.web.charts import bar_chart, waterfall
from interlace.web.operations import MAX_ID
from interlace.web.topology import topology_svg

EVENT_EVERY = 1.0
"""Seconds between two updates of the overview's live figures."""
STREAM_FOR = 10.0
"""An event stream ends after this long and the browser reconnects (EventSource does so by
itself): a stopping hub is never held open by a console left on a screen."""

HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
LOOPBACK = {"localhost", "127.0.0.1", "::1", "[::1]"}
"""Hosts a browser counts as secure over plain HTTP (it keeps a Secure cookie from them)."""
STATIC = {"console.css": "text/css; charset=utf-8", "console.js": "text/javascript; charset=utf-8"}
NAV = (
    ("overview", "/console/", "Overview"),
    ("topology", "/console/topology", "Topology"),
    ("agents", "/console/agents", "Agents"),
    ("exceptions", "/console/exceptions", "Exceptions"),
    ("tasks", "/console/tasks", "Tasks"),
    ("messages", "/console/messages", "Messages"),
    ("entities", "/console/entities", "Golden records"),
    ("gain", "/console/gain", "Gain"),
    ("config", "/console/config", "Config"),
    ("audit", "/console/audit", "Audit"),
)


def _when(at: Any) -> str:
    if not isinstance(at, int | float) or at <= 0:
        return ""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _rate(value: Any) -> str:
    return "-" if value is None else f"{value:.1f}"


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("interlace.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(when=_when, pretty=_pretty, rate=_rate, q=lambda s: quote(str(s), safe=""))
    return env


class Console:
    def __init__(self, api: Api) -> None:
        self.api = api
        self.env = environment()
        self.static = {name: resources.files("interlace.web").joinpath("static", name).read_bytes() for name in STATIC}

    @property
    def backend(self) -> Any:
        return self.api.backend

    def page(self, request: Request, template: str, status: int = 200, **context: Any) -> Response:
        token = getattr(request.state, "token", None)
        html = self.env.get_template(template).render(
            hub=self.api.hub.settings.name,
            nav=[n for n in NAV if self._shown(n[0], token)],
            active=template.removesuffix(".html"),
            user=token,
            csrf=getattr(request.state, "csrf", ""),
            can_act=token is not None and auth.allows(token.role, "operator"),
            note=request.query_params.get("note", ""),
            **context,
        )
        return HTMLResponse(html, status_code=status, headers=HEADERS)

    def _shown(self, page: str, token: Any) -> bool:
        if page == "audit":
            return token is not None and auth.allows(token.role, "admin")
        if page == "agents":
            return bool(self.api.hub.loaded.config.agents)
        return True

    def refuse(self, request: Request, status: int, text: str) -> Response:
        if "text/event-stream" in request.headers.get("accept", ""):
            return Response(text, status_code=status, media_type="text/plain")
        return self.page(request, "error.html", status, code=status, text=text)

    # -- login -----------------------------------------------------------------------------------
    async def login_page(self, request: Request) -> Response:
        return self._login_form(request, None)

    def _login_form(self, request: Request, error: str | None, status: int = 200, target: str | None = None
                    ) -> Response:  # fmt: skip
        response = HTMLResponse("", status_code=status, headers=HEADERS)
        value = sessions.new_login_form(response)
        html = self.env.get_template("login.html").render(
            hub=self.api.hub.settings.name, nav=[], active="login", user=None, csrf="", can_act=False, note="",
            next=sessions.safe_next(target or request.query_params.get("next")), error=error, form_csrf=value,
            insecure=request.url.scheme != "https" and request.url.hostname not in LOOPBACK,
        )  # fmt: skip
        response.body = html.encode()
        response.headers["content-length"] = str(len(response.body))
        return response

    async def login(self, request: Request) -> Response:
        form = await request.form()
        sent, token_text, target = form.get("csrf"), form.get("token"), form.get("next")
        target = target if isinstance(target, str) else None
        if not sessions.login_form_ok(request, sent if isinstance(sent, str) else None):
            return self._login_form(request, "The form had expired: try again.", 403, target)
        found = None
        if isinstance(token_text, str) and token_text.strip():
            found = await self.backend.token_by_hash(auth.token_hash(token_text.strip()))
        client = {"client": request.client.host if request.client is not None else ""}
        if found is None:
            await self.backend.record_audit(AuditEntry("", "console.login", "", "denied", client))
            return self._login_form(request, "Unknown or revoked token.", 401, target)
        response = RedirectResponse(sessions.safe_next(target), 303)
        await sessions.start(self.backend, found, response)
        response.delete_cookie(sessions.LOGIN_COOKIE, path="/console/login", secure=True, httponly=True,
                               samesite="strict")  # fmt: skip
        await self.backend.record_audit(AuditEntry(found.name, "console.login", found.name, "ok", client))
        return response

    async def logout(self, request: Request) -> Response:
        response = RedirectResponse("/console/login", 303)
        await sessions.end(self.backend, request, response)
        await self.backend.record_audit(AuditEntry(request.state.token.name, "console.logout", "", "ok"))
        return response

    async def static_file(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in STATIC:
            return Response("not found", status_code=404)
        return Response(self.static[name], media_type=STATIC[name],
                        headers={"Cache-Control": "max-age=300", "X-Content-Type-Options": "nosniff"})  # fmt: skip

    # -- pages -----------------------------------------------------------------------------------
    async def overview(self, request: Request) -> Response:
        flows = await self.api.flows()
        systems = await self.api.systems()
        totals = {
            "in": sum((f["rate"]["in"] or 0) for f in flows),
            "out": sum((f["rate"]["out"] or 0) for f in flows),
            "backlog": sum(f["backlog"] for f in flows),
            "open": sum(f["open_exceptions"] for f in flows),
        }
        return self.page(request, "overview.html", flows=flows, systems=systems, totals=totals)

    async def events(self, request: Request) -> Response:
        """Server-sent events: the live figures of every flow, once a second."""
        once = request.query_params.get("once") == "1"

        async def stream() -> Any:
            yield "retry: 1000\n\n"
            loop = asyncio.get_running_loop()
            ends = loop.time() + STREAM_FOR
            while True:
                counts = await self.api.meter.sample(self.backend)
                rates = self.api.meter.rates()
                backlog = await self.backend.backlog()
                figures = {
                    name: {
                        "in": rates.get(name, {}).get("in"),
                        "out": rates.get(name, {}).get("out"),
                        "failed": rates.get(name, {}).get("failed"),
                        "received": counts.get(name, (0, 0, 0))[0],
                        "delivered": counts.get(name, (0, 0, 0))[1],
                        "exceptions": counts.get(name, (0, 0, 0))[2],
                        "error_rate": round(counts[name][2] / counts[name][0], 4) if counts.get(name, (0,))[0] else 0,
                        "backlog": backlog.get(name, 0),
                    }
                    for name in self.api.hub.loaded.config.flows
                }
                yield f"data: {json.dumps({'at': _when(time.time()), 'flows': figures})}\n\n"
                if once or loop.time() >= ends or await request.is_disconnected():
                    return
                await asyncio.sleep(EVENT_EVERY)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})  # fmt: skip

    async def topology(self, request: Request) -> Response:
        health = await self.api.health.health()
        svg = topology_svg(self.api.hub.loaded.config, health)
        return self.page(request, "topology.html", svg=svg, systems=await self.api.systems())

    async def agents(self, request: Request) -> Response:
        return self.page(request, "agents.html", agents=self.api.hub.agent_views())

    async def exceptions(self, request: Request) -> Response:
        status = request.query_params.get("status", "open")
        status = status if status in queries.EXCEPTION_STATUSES else "open"
        flow = request.query_params.get("flow") or None
        rows = await queries.exception_rows(self.backend, status=status, flow=flow)
        groups = queries.by_owner(rows)
        owners = self.api.hub.loaded.config.owners
        contacts = {name: owners[name].email or owners[name].webhook or "" for name in owners}
        return self.page(request, "exceptions.html", groups=groups, contacts=contacts, state=status, flow=flow or "",
                         flows=list(self.api.hub.loaded.config.flows), statuses=queries.EXCEPTION_STATUSES,
                         total=len(rows))  # fmt: skip

    def _exception_id(self, request: Request) -> int | None:
        try:
            number = int(request.path_params["exception_id"])
        except ValueError:
            return None
        return number if 1 <= number <= MAX_ID else None

    async def exception(self, request: Request, problem: str | None = None, status: int = 200,
                        sent: dict[str, str] | None = None) -> Response:  # fmt: skip
        exception_id = self._exception_id(request)
        found = None if exception_id is None else await queries.exception_detail(self.backend, exception_id)
        if found is None:
            return self.refuse(request, 404, "No such exception.")
        loaded = self.api.hub.loaded
        schema = queries.flow_schema(loaded.config, loaded.schemas, found["flow"])
        body = found["message"]["body"]
        form_fields = forms.fields(schema[1] if schema else {}, body) if isinstance(body, dict) else []
        if sent:
            for f in form_fields:
                f.value = sent.get(f.name, "") if f.kind != "boolean" else ("true" if f.name in sent else "")
        trace = await queries.trace_rows(self.backend, found["message"]["id"])
        mine = [t for t in trace if t["message_id"] == found["message"]["id"]]
        after = [t for t in mine if t["at"] >= found["created_at"] and t["stage"].startswith("deliver:")]
        delivered = bool(after) and all(t["status"] == "ok" for t in after[-len(self._deliveries(found)) :])
        return self.page(request, "exception.html", status, e=found, schema_name=schema[0] if schema else None,
                         fields=form_fields, raw=_pretty(body), problem=problem, latest=mine[-1] if mine else None,
                         delivered=delivered and found["status"] != "open")  # fmt: skip

    def _deliveries(self, found: dict[str, Any]) -> list[str]:
        flow = self.api.hub.loaded.config.flows.get(found["flow"])
        return [d.system for d in flow.deliver] if flow is not None else []

    async def retry(self, request: Request) -> Response:
        exception_id = self._exception_id(request)
        if exception_id is None:
            return self.refuse(request, 404, "No such exception.")
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        mode = form.get("mode", "as-is")
        edited: Any = None
        if mode in ("form", "raw"):
            found = await self.backend.get_exception(exception_id)
            if found is None:
                return self.refuse(request, 404, "No such exception.")
            try:
                if mode == "raw":
                    edited = json.loads(form.get("raw", ""))
                else:
                    loaded = self.api.hub.loaded
                    schema = queries.flow_schema(loaded.config, loaded.schemas, found.flow)
                    edited = forms.body_from_form(schema[1] if schema else {}, found.message.body, form)
            except (ValueError, forms.FormProblem) as exc:
                return await self.exception(request, problem=str(exc), status=400, sent=form)
        actor, detail = auth.caller(request)
        done = await actions.retry(self.backend, actor, exception_id, edited, detail)
        note = ("retried with the corrected data" if edited is not None else "retried") if done else "not open"
        return RedirectResponse(f"/console/exceptions/{exception_id}?" + urlencode({"note": note}), 303)

    async def discard(self, request: Request) -> Response:
        exception_id = self._exception_id(request)
        if exception_id is None:
            return self.refuse(request, 404, "No such exception.")
        actor, detail = auth.caller(request)
        done = await actions.discard(self.backend, actor, exception_id, detail)
        return RedirectResponse(f"/console/exceptions/{exception_id}?" + urlencode(
            {"note": "discarded" if done else "not open"}), 303)  # fmt: skip

    async def bulk(self, request: Request) -> Response:
        form = await request.form()
        action = form.get("action")
        ids = []
        for value in form.getlist("ids"):
            if isinstance(value, str) and value.isdigit() and 1 <= int(value) <= MAX_ID:
                ids.append(int(value))
        if action not in ("retry", "discard") or not ids:
            return RedirectResponse("/console/exceptions?" + urlencode({"note": "choose exceptions first"}), 303)
        actor, detail = auth.caller(request)
        done, not_open = await actions.bulk(self.backend, actor, action=str(action), ids=ids, detail=detail)
        note = f"{action}: {len(done)} done" + (f", {len(not_open)} not open" if not_open else "")
        return RedirectResponse("/console/exceptions?" + urlencode({"note": note}), 303)

    async def messages(self, request: Request) -> Response:
        flow = request.query_params.get("flow") or None
        rows = await queries.recent_messages(self.backend, flow=flow, limit=100)
        return self.page(request, "messages.html", rows=rows, flow=flow or "",
                         flows=list(self.api.hub.loaded.config.flows), tracing=self.api.hub.settings.trace)  # fmt: skip

    async def trace(self, request: Request) -> Response:
        message_id = request.path_params["message_id"]
        rows = await queries.trace_rows(self.backend, message_id)
        if not rows:
            return self.refuse(request, 404, "No trace for this message (it may be older than the trace keeps).")
        bars = [(f"{r['stage']} · {r['status']}", r["since_start"] - r["took"], r["since_start"], r["status"])
                for r in rows]  # fmt: skip
        chart = waterfall(bars, title="timeline")
        exceptions = [e for e in await queries.exception_rows(self.backend, status="all", flow=rows[0]["flow"])
                      if e["message_id"].split(".")[0] == message_id.split(".")[0]]  # fmt: skip
        return self.page(request, "trace.html", message_id=message_id, rows=rows, chart=chart, exceptions=exceptions)

    async def entities(self, request: Request) -> Response:
        loaded = self.api.hub.loaded
        views = queries.entity_views(loaded.config, loaded.schemas)
        pages = {}
        for view in views:
            if view["mode"] == "integrate":
                pages[view["name"]] = await queries.golden_keys(self.backend, view["name"], limit=100)
        return self.page(request, "entities.html", entities=views, pages=pages)

    async def golden(self, request: Request) -> Response:
        entity, key = request.path_params["entity"], request.path_params["key"]
        if entity not in self.api.hub.loaded.config.entities:
            return self.refuse(request, 404, f"No entity named {entity}.")
        found = await queries.golden_record(self.backend, entity, key)
        if found is None:
            return self.refuse(request, 404, f"No {entity} with key {key}.")
        config = self.api.hub.loaded.config.entities[entity]
        owners = {f: (config.fields[f].owner if f in config.fields and config.fields[f].owner else
                      config.source_of_truth) for f in found["values"]}  # fmt: skip
        return self.page(request, "golden.html", r=found, owners=owners)

    async def gain(self, request: Request) -> Response:
        days = request.query_params.get("days", "30")
        span = int(days) if days.isdigit() and 1 <= int(days) <= 36600 else 30
        report = await queries.gain_report(self.backend, self.api.hub.loaded.config, days=span)
        rows = [(r["flow"], r["hours_saved"], f"{r['hours_saved']:g} h") for r in report["flows"] if r["declared"]]
        by_flow = bar_chart(rows, unit="hours", title="time saved per flow")
        daily = [(d["day"], d["hours_saved"], f"{d['hours_saved']:g} h") for d in report["by_day"]]
        by_day = bar_chart(daily, unit="hours", title="time saved per day")
        return self.page(request, "gain.html", report=report, by_flow=by_flow, by_day=by_day, days=span)

    async def config(self, request: Request) -> Response:
        return self.page(request, "config.html", text=_pretty(self.api.config_view()))

    async def audit(self, request: Request) -> Response:
        entries = await self.backend.audit_log(limit=200)
        return self.page(request, "audit.html", entries=[redact(e.__dict__) for e in entries])

    # -- routes ----------------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        """The console's routes, below /console. Each needs a session of the role it names, but
        the login page and the two static files."""
        guarded: list[tuple[str, Any, str, Role]] = [
            ("/", self.overview, "GET", "viewer"),
            ("/events", self.events, "GET", "viewer"),
            ("/topology", self.topology, "GET", "viewer"),
            ("/agents", self.agents, "GET", "viewer"),
            ("/exceptions", self.exceptions, "GET", "viewer"),
            ("/exceptions/bulk", self.bulk, "POST", "operator"),
            ("/exceptions/{exception_id}", self.exception, "GET", "viewer"),
            ("/exceptions/{exception_id}/retry", self.retry, "POST", "operator"),
            ("/exceptions/{exception_id}/discard", self.discard, "POST", "operator"),
            ("/messages", self.messages, "GET", "viewer"),
            ("/messages/{message_id}", self.trace, "GET", "viewer"),
            ("/entities", self.entities, "GET", "viewer"),
            ("/entities/{entity}/{key}", self.golden, "GET", "viewer"),
            ("/gain", self.gain, "GET", "viewer"),
            ("/config", self.config, "GET", "viewer"),
            ("/audit", self.audit, "GET", "admin"),
            ("/logout", self.logout, "POST", "viewer"),
        ]
        routes: list[BaseRoute] = [
            Route("/login", self.login_page, methods=["GET"]),
            Route("/login", self.login, methods=["POST"]),
            Route("/static/{name}", self.static_file, methods=["GET"]),
        ]
        for path, page, method, role in guarded:
            routes.append(Route(path, sessions.requires(role, page, self.backend, self.refuse), methods=[method]))
        return routes


PUBLIC = {("GET", "/console/login"), ("POST", "/console/login"), ("GET", "/console/static/{name}")}
"""The console's routes that need no session (the security tests walk every other one)."""
