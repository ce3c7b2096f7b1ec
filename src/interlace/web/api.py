"""The admin REST API under /api: one table of operations, each with its path, method, role,
parameters and request body schema. The routes, the checks of what a call sends and the OpenAPI
document (`GET /api/openapi.json`, web/openapi.py) are all made from that one table, so the
document cannot drift from what is served.

Reading needs the viewer role; acting on exceptions the operator role; tokens and the audit log
the admin role. Every answer goes through the one redaction (web/queries.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from interlace.backends.base import ROLES, ApiToken, Backend, Verdict
from interlace.config.loader import LoadedConfig
from interlace.config.models import HubSettings
from interlace.connectors.base import Connector, Ingress
from interlace.types import JSON, JSONObject
from interlace.web import actions, auth, configview, openapi, queries, tasks
from interlace.web.operations import MAX_ID, BadRequest, Operation, Param, arguments, error, json_body
from interlace.web.rates import RateMeter
from interlace.web.systems import SystemHealth, system_views


class WallClock(Protocol):
    def time(self) -> float: ...


class Served(Protocol):
    """What the web app takes of the hub it serves (`interlace.hub.Hub` is one): the web layer sits
    below the hub, so it names what it reads here instead of importing the Hub."""

    @property
    def settings(self) -> HubSettings: ...

    @property
    def loaded(self) -> LoadedConfig: ...

    @property
    def backend(self) -> Backend: ...

    @property
    def connectors(self) -> Mapping[str, Connector]: ...

    @property
    def ingress(self) -> Ingress: ...

    @property
    def started(self) -> bool: ...

    def liveness(self) -> JSONObject: ...

    @property
    def config_digest(self) -> str: ...

    @property
    def clock(self) -> WallClock:
        """The wall clock of tasks' deadlines (whether a task is overdue is read by it)."""

    def agent_views(self) -> list[JSONObject]:
        """Each agent of the config: its systems and its link state."""
        ...


def _token_view(t: ApiToken) -> dict[str, JSON]:
    return {"name": t.name, "role": t.role, "created_at": t.created_at, "created_by": t.created_by,
            "revoked_at": t.revoked_at}  # fmt: skip


# -- schemas of the answers (for the OpenAPI document) -------------------------------------------
NULLABLE_STR = {"type": ["string", "null"]}
EXCEPTION_ROW = {
    "type": "object",
    "required": ["id", "flow", "stage", "owner", "status", "reason", "message_id", "created_at"],
    "properties": {
        "id": {"type": "integer"}, "flow": {"type": "string"}, "stage": {"type": "string"}, "owner": NULLABLE_STR,
        "status": {"type": "string"}, "reason": {"type": "string"}, "message_id": {"type": "string"},
        "created_at": {"type": "number"},
    },
}  # fmt: skip
TRACE_ROW = {
    "type": "object",
    "required": ["message_id", "flow", "stage", "status", "at", "since_start", "took"],
    "properties": {
        "message_id": {"type": "string"}, "correlation_id": {"type": "string"}, "flow": {"type": "string"},
        "position": {"type": "integer"}, "stage": {"type": "string"}, "status": {"type": "string"},
        "attempt": {"type": "integer"}, "input": {}, "output": {}, "error": NULLABLE_STR, "at": {"type": "number"},
        "since_start": {"type": "number"}, "took": {"type": "number"},
    },
}  # fmt: skip
GOLDEN = {
    "type": "object",
    "required": ["entity", "key", "status", "version", "values", "provenance", "history"],
    "properties": {
        "entity": {"type": "string"}, "key": {"type": "string"}, "status": {"type": "string"},
        "version": {"type": "integer"}, "merged_into": NULLABLE_STR, "values": {"type": "object"},
        "provenance": {"type": "object", "additionalProperties": {
            "type": "object", "properties": {"system": {"type": "string"}, "at": {"type": "number"},
                                             "message_id": {"type": "string"}}}},
        "history": {"type": "array", "items": {"type": "object"}},
    },
}  # fmt: skip
BULK = {
    "type": "object",
    "additionalProperties": False,
    "description": "The open exceptions to act on: by `ids`, or every open one of a `flow` and/or `owner`.",
    "properties": {
        "ids": {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": MAX_ID}, "maxItems": 10000},
        "flow": {"type": "string"},
        "owner": {"type": "string"},
    },
    "minProperties": 1,
}
BULK_ANSWER = {
    "type": "object",
    "required": ["done", "not_open"],
    "properties": {"done": {"type": "array", "items": {"type": "integer"}},
                   "not_open": {"type": "array", "items": {"type": "integer"}}},
}  # fmt: skip


def listing(key: str, item: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "object", "required": [key],
            "properties": {key: {"type": "array", "items": item or {"type": "object"}}}}  # fmt: skip


ID = Param("exception_id", {"type": "integer", "minimum": 1, "maximum": MAX_ID}, "The exception's id.", "path", True)
STATUS = Param("status", {"type": "string", "enum": list(queries.EXCEPTION_STATUSES), "default": "open"},
               "Only exceptions in this state (all: every state).")  # fmt: skip
FLOW = Param("flow", {"type": "string"}, "Only this flow's.")
OWNER = Param("owner", {"type": "string"}, "Only this owner's.")
LIMIT = Param("limit", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50}, "How many at most.")


class Api:
    """The operations of one served hub. `meter` and `health` are the app's: the rates and the
    systems' probes are remembered between calls."""

    def __init__(self, hub: Served, meter: RateMeter, health: SystemHealth) -> None:
        self.hub = hub
        self.meter = meter
        self.health = health
        self._config_view: dict[str, Any] | None = None

    @property
    def backend(self) -> Backend:
        return self.hub.backend

    def config_view(self) -> dict[str, Any]:
        """The running config as its file says it (secret references as written, never their
        values; literal secrets masked), read once per app: a reload builds a new app."""
        if self._config_view is None:
            self._config_view = configview.config_view(Path(self.hub.loaded.file))
        return self._config_view

    async def flows(self) -> list[dict[str, Any]]:
        await self.meter.sample(self.backend)
        rates = self.meter.rates()
        rows = await queries.flow_stats(self.backend, self.hub.loaded.config)
        for row in rows:
            row["rate"] = rates.get(row["name"], {"in": None, "out": None, "failed": None})
        return rows

    async def systems(self) -> list[dict[str, Any]]:
        return system_views(self.hub.loaded.config, await self.health.health(), self.hub.agent_views())

    async def get_agents(self, request: Request) -> Response:
        return JSONResponse({"agents": self.hub.agent_views()})

    # -- the endpoints ---------------------------------------------------------------------------
    async def get_systems(self, request: Request) -> Response:
        return JSONResponse({"systems": await self.systems()})

    async def get_system(self, request: Request) -> Response:
        name = request.path_params["name"]
        found = [s for s in await self.systems() if s["name"] == name]
        return JSONResponse(found[0]) if found else error(404, f"no system named {name!r}")

    async def get_flows(self, request: Request) -> Response:
        return JSONResponse({"flows": await self.flows()})

    async def get_flow(self, request: Request) -> Response:
        name = request.path_params["name"]
        found = [f for f in await self.flows() if f["name"] == name]
        return JSONResponse(found[0]) if found else error(404, f"no flow named {name!r}")

    async def get_messages(self, request: Request) -> Response:
        args = arguments(request, (FLOW, LIMIT))
        return JSONResponse({"messages": await queries.recent_messages(self.backend, flow=args["flow"],
                                                                        limit=args["limit"])})  # fmt: skip

    async def get_trace(self, request: Request) -> Response:
        rows = await queries.trace_rows(self.backend, request.path_params["message_id"])
        return JSONResponse({"trace": rows}) if rows else error(404, "no such message")

    async def get_exceptions(self, request: Request) -> Response:
        args = arguments(request, (STATUS, FLOW, OWNER))
        return JSONResponse({"exceptions": await queries.exception_rows(self.backend, **args)})

    async def get_owners(self, request: Request) -> Response:
        args = arguments(request, (STATUS, FLOW))
        groups = queries.by_owner(await queries.exception_rows(self.backend, **args))
        owners = self.hub.loaded.config.owners
        rows = [
            {"owner": name,
             "contact": owners[name].model_dump(exclude_none=True, exclude={"members"}) if name in owners else {},
             "count": len(groups.get(name, [])), "exceptions": groups.get(name, [])}
            for name in sorted(set(owners) | set(groups))
        ]  # fmt: skip
        return JSONResponse({"owners": rows})

    async def get_exception(self, request: Request) -> Response:
        exception_id = arguments(request, (ID,))["exception_id"]
        found = await queries.exception_detail(self.backend, exception_id)
        return JSONResponse(found) if found is not None else error(404, "no such exception")

    async def retry(self, request: Request) -> Response:
        exception_id = arguments(request, (ID,))["exception_id"]
        payload = await json_body(request, RETRY_BODY, required=False)
        edited = None if payload is None else payload.get("body")
        actor, detail = auth.caller(request)
        if not await actions.retry(self.backend, actor, exception_id, edited, detail):
            return error(404, "no open exception with this id")
        return JSONResponse({"id": exception_id, "status": "retried", "edited": edited is not None})

    async def discard(self, request: Request) -> Response:
        exception_id = arguments(request, (ID,))["exception_id"]
        actor, detail = auth.caller(request)
        if not await actions.discard(self.backend, actor, exception_id, detail):
            return error(404, "no open exception with this id")
        return JSONResponse({"id": exception_id, "status": "discarded"})

    async def _bulk(self, request: Request, action: str) -> Response:
        payload = await json_body(request, BULK, required=True)
        actor, detail = auth.caller(request)
        done, not_open = await actions.bulk(
            self.backend, actor, action=action, ids=payload.get("ids"), flow=payload.get("flow"),
            owner=payload.get("owner"), detail=detail,
        )  # fmt: skip
        return JSONResponse({"done": done, "not_open": not_open})

    async def bulk_retry(self, request: Request) -> Response:
        return await self._bulk(request, "retry")

    async def bulk_discard(self, request: Request) -> Response:
        return await self._bulk(request, "discard")

    # -- human tasks (web/tasks.py) ---------------------------------------------------------------
    async def get_tasks(self, request: Request) -> Response:
        args = arguments(request, (TASK_STATUS, OWNER, MINE, OVERDUE))
        config = self.hub.loaded.config
        owners = [args["owner"]] if args["owner"] else None
        if args["mine"]:
            mine = tasks.groups_of(config, request.state.token.name)
            owners = [o for o in (owners or mine) if o in mine]
        rows = await tasks.task_rows(self.backend, self.hub.clock.time(), status=args["status"], owners=owners,
                                     overdue=bool(args["overdue"]))  # fmt: skip
        return JSONResponse({"tasks": rows})

    async def get_task_owners(self, request: Request) -> Response:
        args = arguments(request, (TASK_STATUS,))
        rows = await tasks.task_rows(self.backend, self.hub.clock.time(), status=args["status"])
        return JSONResponse({"owners": tasks.by_owner(rows, self.hub.loaded.config)})

    async def get_task(self, request: Request) -> Response:
        task_id = arguments(request, (TASK_ID,))["task_id"]
        found = await self.backend.get_task(task_id)
        if found is None:
            return error(404, "no task with this id")
        return JSONResponse(tasks.task_detail(found, self.hub.loaded.config, self.hub.clock.time()))

    async def _decide(self, request: Request, verdict: Verdict) -> Response:
        task_id = arguments(request, (TASK_ID,))["task_id"]
        payload = await json_body(request, APPROVE_BODY if verdict == "approve" else REJECT_BODY, required=False)
        payload = payload or {}
        actor, detail = auth.caller(request)
        try:
            done = await tasks.decide(self.backend, self.hub.loaded, actor, task_id, verdict,
                                      body=payload.get("body"), comment=payload.get("comment"), detail=detail)
        except tasks.Refused as refused:
            return error(refused.status, refused.text)
        return JSONResponse(tasks.task_detail(done, self.hub.loaded.config, self.hub.clock.time()))

    async def approve(self, request: Request) -> Response:
        return await self._decide(request, "approve")

    async def reject(self, request: Request) -> Response:
        return await self._decide(request, "reject")

    async def get_entities(self, request: Request) -> Response:
        loaded = self.hub.loaded
        return JSONResponse({"entities": queries.entity_views(loaded.config, loaded.schemas)})

    async def get_records(self, request: Request) -> Response:
        entity = request.path_params["entity"]
        if entity not in self.hub.loaded.config.entities:
            return error(404, f"no entity named {entity!r}")
        args = arguments(request, (AFTER, LIMIT))
        page = await queries.golden_keys(self.backend, entity, after=args["after"], limit=args["limit"])
        return JSONResponse({"records": page})

    async def get_golden(self, request: Request) -> Response:
        entity, key = request.path_params["entity"], request.path_params["key"]
        if entity not in self.hub.loaded.config.entities:
            return error(404, f"no entity named {entity!r}")
        found = await queries.golden_record(self.backend, entity, key)
        return JSONResponse(found) if found is not None else error(404, f"no {entity} with key {key!r}")

    async def get_gain(self, request: Request) -> Response:
        args = arguments(request, (SINCE, UNTIL, DAYS, EVERY_DAY))
        if args.pop("all") or args["since"] is not None or args["until"] is not None:
            if args["days"] is not None:
                raise BadRequest("days goes with neither since/until nor all")
        elif args["days"] is None:
            args["days"] = 30  # as `interlace gain`
        try:
            report = await queries.gain_report(self.backend, self.hub.loaded.config, **args)
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        return JSONResponse(report)

    async def get_config(self, request: Request) -> Response:
        return JSONResponse({"file": Path(self.hub.loaded.file).name, "config": self.config_view()})

    async def tokens(self, request: Request) -> Response:
        revoked = arguments(request, (REVOKED,))["revoked"]
        found = await self.backend.tokens(revoked=bool(revoked))
        return JSONResponse({"tokens": [_token_view(t) for t in found]})

    async def create_token(self, request: Request) -> Response:
        payload = await json_body(request, TOKEN_BODY, required=True)
        name, role = payload["name"], payload["role"]
        try:
            token, record = await auth.create_token(self.backend, name, role, request.state.token.name)
        except ValueError as exc:
            return error(409, str(exc))
        return JSONResponse({"token": token, **_token_view(record)}, status_code=201)

    async def revoke(self, request: Request) -> Response:
        name = request.path_params["name"]
        if not await auth.revoke_token(self.backend, name, request.state.token.name):
            return error(404, f"no live token named {name!r}")
        return JSONResponse({"name": name, "status": "revoked"})

    async def audit_log(self, request: Request) -> Response:
        args = arguments(request, (AUDIT_LIMIT, ACTOR))
        entries = await self.backend.audit_log(limit=args["limit"], actor=args["actor"])
        return JSONResponse({"audit": [asdict(e) for e in entries]})

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(openapi.document(self.operations(), self.hub.settings.name))

    def operations(self) -> list[Operation]:
        o = Operation
        name = Param("name", {"type": "string"}, "Its name.", "path", True)
        message_id = Param("message_id", {"type": "string"}, "A message id.", "path", True)
        entity = Param("entity", {"type": "string"}, "An entity of the config.", "path", True)
        key = Param("key", {"type": "string"}, "The record's key ('|' between parts).", "path", True)
        return [
            o("GET", "/openapi.json", self.openapi, "This document.", "viewer", "meta"),
            o("GET", "/systems", self.get_systems, "The systems of the config and their health.", "viewer",
              "systems", answer=listing("systems")),
            o("GET", "/systems/{name}", self.get_system, "One system and its health.", "viewer", "systems",
              (name,), errors=(404,)),
            o("GET", "/agents", self.get_agents, "The agents, their systems and their link state.", "viewer",
              "systems", answer=listing("agents")),
            o("GET", "/flows", self.get_flows, "The flows, their counts, backlog, error rate and messages/s.",
              "viewer", "flows", answer=listing("flows")),
            o("GET", "/flows/{name}", self.get_flow, "One flow.", "viewer", "flows", (name,), errors=(404,)),
            o("GET", "/messages", self.get_messages, "The latest messages received, newest first.", "viewer",
              "messages", (FLOW, LIMIT), answer=listing("messages"), errors=(400,)),
            o("GET", "/messages/{message_id}/trace", self.get_trace,
              "Every step of a message (and of those derived from it): input, output, status, timing.",
              "viewer", "messages", (message_id,), answer=listing("trace", TRACE_ROW), errors=(404,)),
            o("GET", "/exceptions", self.get_exceptions, "Exceptions, by state, flow and owner.", "viewer",
              "exceptions", (STATUS, FLOW, OWNER), answer=listing("exceptions", EXCEPTION_ROW), errors=(400,)),
            o("GET", "/owners", self.get_owners, "The owners and their exceptions.", "viewer", "exceptions",
              (STATUS, FLOW), answer=listing("owners"), errors=(400,)),
            o("POST", "/exceptions/retry", self.bulk_retry, "Retry open exceptions in bulk.", "operator",
              "exceptions", body=BULK, body_required=True, answer=BULK_ANSWER, errors=(400,)),
            o("POST", "/exceptions/discard", self.bulk_discard, "Discard open exceptions in bulk.", "operator",
              "exceptions", body=BULK, body_required=True, answer=BULK_ANSWER, errors=(400,)),
            o("GET", "/exceptions/{exception_id}", self.get_exception,
              "One exception with its message and history.", "viewer", "exceptions", (ID,), errors=(400, 404)),
            o("POST", "/exceptions/{exception_id}/retry", self.retry,
              "Put an open exception back where it failed, with a corrected body when one is sent.", "operator",
              "exceptions", (ID,), body=RETRY_BODY, errors=(400, 404)),
            o("POST", "/exceptions/{exception_id}/discard", self.discard,
              "Discard an open exception (kept for the record, never retried).", "operator", "exceptions", (ID,),
              errors=(400, 404)),
            o("GET", "/tasks", self.get_tasks, "Human tasks: by state, owner group, the caller's own (mine: the"
              " groups whose members list the token's name), or only the overdue ones.", "viewer", "tasks",
              (TASK_STATUS, OWNER, MINE, OVERDUE), answer=listing("tasks", TASK_ROW), errors=(400,)),
            o("GET", "/tasks/owners", self.get_task_owners, "Every owner group with its members and tasks.",
              "viewer", "tasks", (TASK_STATUS,), answer=listing("owners"), errors=(400,)),
            o("GET", "/tasks/{task_id}", self.get_task, "One task with its message, rules and decision history.",
              "viewer", "tasks", (TASK_ID,), errors=(400, 404)),
            o("POST", "/tasks/{task_id}/approve", self.approve, "Approve an open task (with an edited body when"
              " sent, changing only its editable fields): its message goes on. Only a member of the task's owner"
              " group may; a task decided before answers 409.", "operator", "tasks", (TASK_ID,),
              body=APPROVE_BODY, errors=(400, 403, 404, 409)),
            o("POST", "/tasks/{task_id}/reject", self.reject, "Reject an open task: its message becomes an"
              " exception of the flow's owner. Only a member of the task's owner group may; a task decided"
              " before answers 409.", "operator", "tasks", (TASK_ID,), body=REJECT_BODY,
              errors=(400, 403, 404, 409)),
            o("GET", "/entities", self.get_entities, "The entities of the config.", "viewer", "entities",
              answer=listing("entities")),
            o("GET", "/entities/{entity}", self.get_records, "A page of an entity's golden records.", "viewer",
              "entities", (entity, AFTER, LIMIT), answer=listing("records"), errors=(400, 404)),
            o("GET", "/entities/{entity}/{key}", self.get_golden,
              "A golden record with each field's provenance and its history.", "viewer", "entities",
              (entity, key), answer=GOLDEN, errors=(404,)),
            o("GET", "/gain", self.get_gain, "What each flow saved, from the store's real counts per flow and day"
              " (as `interlace gain` prints it): the last 30 days unless told.", "viewer", "gain",
              (SINCE, UNTIL, DAYS, EVERY_DAY), errors=(400,)),
            o("GET", "/config", self.get_config, "The running config, secrets never shown.", "viewer", "config"),
            o("GET", "/audit", self.audit_log, "The audit log, newest first.", "admin", "admin",
              (AUDIT_LIMIT, ACTOR), answer=listing("audit"), errors=(400,)),
            o("GET", "/tokens", self.tokens, "The API tokens (never the tokens themselves).", "admin", "admin",
              (REVOKED,), answer=listing("tokens"), errors=(400,)),
            o("POST", "/tokens", self.create_token, "Make a token; it is answered once.", "admin", "admin",
              body=TOKEN_BODY, body_required=True, status=201, errors=(400, 409)),
            o("DELETE", "/tokens/{name}", self.revoke, "Revoke a token.", "admin", "admin", (name,),
              errors=(404,)),
        ]  # fmt: skip


RETRY_BODY = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"body": {"description": "The corrected body to retry with (left out: as it was)."}},
}
TOKEN_BODY = {
    "type": "object",
    "required": ["name", "role"],
    "additionalProperties": False,
    "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": r"\S"},
                   "role": {"type": "string", "enum": list(ROLES)}},
}  # fmt: skip
COMMENT = {"type": "string", "maxLength": 2000, "description": "Why (kept in the task's history)."}
APPROVE_BODY = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"body": {"description": "The edited body to go on with (left out: as it was)."},
                   "comment": COMMENT},
}  # fmt: skip
REJECT_BODY = {"type": "object", "additionalProperties": False, "properties": {"comment": COMMENT}}
TASK_ROW = {
    "type": "object",
    "required": ["id", "name", "flow", "owner", "status", "level", "due_at", "overdue", "created_at", "message_id"],
    "properties": {
        "id": {"type": "integer"}, "name": {"type": "string"}, "flow": {"type": "string"},
        "owner": {"type": "string"}, "status": {"type": "string"}, "level": {"type": "integer"},
        "due_at": {"type": ["number", "null"]}, "overdue": {"type": "boolean"}, "created_at": {"type": "number"},
        "decided_by": NULLABLE_STR, "decided_at": {"type": ["number", "null"]}, "message_id": {"type": "string"},
    },
}  # fmt: skip
TASK_ID = Param("task_id", {"type": "integer", "minimum": 1, "maximum": MAX_ID}, "The task's id.", "path", True)
TASK_STATUS = Param("status", {"type": "string", "enum": list(tasks.TASK_STATUSES), "default": "open"},
                    "Only tasks in this state (all: every state).")  # fmt: skip
MINE = Param("mine", {"type": "boolean", "default": False}, "Only the tasks the caller may decide.")
OVERDUE = Param("overdue", {"type": "boolean", "default": False}, "Only the open tasks past their deadline.")
SINCE = Param("since", {"type": "string", "format": "date"}, "From this UTC day (YYYY-MM-DD), included.")
UNTIL = Param("until", {"type": "string", "format": "date"}, "Until this UTC day (YYYY-MM-DD), included.")
DAYS = Param("days", {"type": "integer", "minimum": 1, "maximum": 36600}, "The last this many days, today included.")
EVERY_DAY = Param("all", {"type": "boolean", "default": False}, "Every day the store has counted.")
AFTER = Param("after", {"type": "string"}, "Records after this key (paging).")
REVOKED = Param("revoked", {"type": "boolean", "default": False}, "Also the revoked tokens.")
AUDIT_LIMIT = Param("limit", {"type": "integer", "minimum": 1, "maximum": 10000, "default": 100}, "How many lines.")
ACTOR = Param("actor", {"type": "string"}, "Only this token's (or `cli:<user>`'s) lines.")
