"""API tokens and roles on every route of the hub's app: no token is 401, a weaker role 403, and
every mutating call (allowed or refused) is in the audit log. The walk over `app.routes` covers
routes added later: one served without a guard fails here."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.routing import Mount, Route

from interlace.agent.wire import PREFIX as AGENT_PREFIX
from interlace.config.loader import load_config
from interlace.connectors.base import Incoming
from interlace.hub import Hub
from interlace.web import auth
from interlace.web.console import PUBLIC

from support import interlace

CONFIG = """
hub: {name: sec, lease: 5s, open_metrics: OPEN}
owners: {ops: {email: ops@x.test}}
systems:
  shop: {connector: webhook}
  db: {connector: sqlite, path: ./out.db}          # no table: every delivery fails
entities:
  order: {key: id, schema: {type: object, required: [id], properties: {id: {type: string}}}}
flows:
  orders:
    trigger: {system: shop, event: order}
    deliver: {system: db, table: orders, mode: insert}
    on_error: {owner: ops, retry: {attempts: 1}}
"""

WEBHOOK_PATHS = {"/hooks/shop", "/hooks/shop/{event}"}


def write_config(folder: Path, *, open_metrics: bool = False) -> Path:
    (folder / "hub.yaml").write_text(CONFIG.replace("OPEN", "true" if open_metrics else "false"))
    return folder / "hub.yaml"


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[Hub]:
    h = Hub(load_config(write_config(tmp_path)))
    await h.start()
    yield h
    await h.stop()


def client(hub: Hub, token: str | None = None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=hub.app()), base_url="http://hub", headers=headers)


async def tokens(hub: Hub) -> dict[str, str]:
    made = {}
    for role in ("viewer", "operator", "admin"):
        made[role], _ = await auth.create_token(hub.backend, f"{role}-1", role, "test")
    return made


async def park_one(hub: Hub) -> int:
    """An order delivered to a table that does not exist: parked after its one attempt."""
    await hub.ingress.submit("orders", [Incoming({"id": "A1"}, event="order")])
    await hub.worker.drain()
    [parked] = await hub.backend.exceptions()
    return parked.id


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def all_routes(hub: Hub) -> list[tuple[str, str]]:
    """Every (method, path) the app serves, mounts walked into, but the webhooks and the probes
    (/health, /healthz, /readyz: no token, for a load balancer or an orchestrator)."""
    found = []

    def walk(routes: list[Any], prefix: str) -> None:
        for route in routes:
            if isinstance(route, Mount):
                walk(route.routes, prefix + route.path)
                continue
            assert isinstance(route, Route), f"{route!r}: the walk knows only Route and Mount; teach it this kind"
            path = prefix + route.path
            if path in ("/health", "/healthz", "/readyz") or path in WEBHOOK_PATHS:
                continue
            found.extend((m, path) for m in sorted(route.methods or ()) if m != "HEAD")

    walk(hub.app().routes, "")
    return found


def api_routes(hub: Hub) -> list[tuple[str, str]]:
    """The routes behind a token: all but the console's (behind a session, tests/web) and the
    agents' link (behind each agent's own token, below and tests/agent/test_agent_link.py)."""
    return [(m, p) for m, p in all_routes(hub) if not p.startswith(("/console", AGENT_PREFIX))]


async def test_the_agents_link_admits_no_api_token(hub: Hub) -> None:
    made = await tokens(hub)
    routes = [(m, p) for m, p in all_routes(hub) if p.startswith(AGENT_PREFIX)]
    assert {("POST", AGENT_PREFIX + "/{agent}/messages"), ("POST", AGENT_PREFIX + "/{agent}/poll")} <= set(routes)
    async with client(hub) as anonymous, client(hub, made["admin"]) as admin:
        for method, path in routes:
            for c in (anonymous, admin):
                r = await c.request(method, path.replace("{agent}", "plant-1"), json={})
                assert r.status_code == 401, (method, path, r.text)
                assert r.headers["www-authenticate"].startswith("Bearer")


async def test_every_route_needs_a_token_and_every_mutating_route_refuses_a_viewer(hub: Hub) -> None:
    made = await tokens(hub)
    routes = api_routes(hub)
    # the walk sees the routes it must guard (so it cannot pass by seeing none)
    assert {("POST", "/api/exceptions/{exception_id}/retry"), ("POST", "/api/exceptions/{exception_id}/discard"),
            ("GET", "/metrics"), ("POST", "/api/tokens"), ("DELETE", "/api/tokens/{name}"),
            ("POST", "/api/exceptions/retry"), ("GET", "/api/openapi.json")} <= set(routes)  # fmt: skip
    mutating = [(m, p) for m, p in routes if m not in ("GET", "HEAD")]
    assert len(mutating) >= 6
    async with client(hub) as anonymous, client(hub, "il_not-a-token") as stranger, client(
        hub, made["viewer"]
    ) as viewer:
        for method, path in routes:
            r = await anonymous.request(method, concrete(path))
            assert r.status_code == 401, (method, path, r.text)
            assert r.headers["www-authenticate"].startswith("Bearer")
            r = await stranger.request(method, concrete(path))
            assert r.status_code == 401, (method, path, r.text)
        for method, path in mutating:
            r = await viewer.request(method, concrete(path), json={})
            assert r.status_code == 403, (method, path, r.text)
    denied = [e for e in await hub.backend.audit_log() if e.outcome == "denied"]
    assert {(e.actor, e.action) for e in denied} == {("viewer-1", f"{m} {concrete(p)}") for m, p in mutating}


async def test_every_console_route_but_the_login_page_needs_a_session(hub: Hub) -> None:
    made = await tokens(hub)
    routes = [(m, p) for m, p in all_routes(hub) if p.startswith("/console")]
    assert set(routes) >= PUBLIC and len(routes) > len(PUBLIC) + 10
    async with client(hub) as anonymous, client(hub, made["admin"]) as bearer:
        for method, path in sorted(set(routes) - PUBLIC):
            for c in (anonymous, bearer):  # a bearer token opens the API, not the console
                stream = path.endswith("/events")  # as EventSource asks: no redirect to a page
                r = await c.request(method, concrete(path), headers={"accept": "text/event-stream"} if stream else {})
                if method == "GET" and not stream:
                    assert r.status_code == 303 and r.headers["location"].startswith("/console/login?next="), path
                else:
                    assert r.status_code == 401, (method, path, r.text)


async def test_a_malformed_authorization_header_is_401(hub: Hub) -> None:
    made = await tokens(hub)
    async with client(hub) as c:
        for header in (made["admin"], f"Basic {made['admin']}", "Bearer", "Bearer  "):
            r = await c.get("/api/exceptions", headers={"Authorization": header})
            assert r.status_code == 401, header


async def test_roles_reads_and_the_actions_an_operator_takes_are_audited(hub: Hub) -> None:
    made = await tokens(hub)
    first = await park_one(hub)
    async with client(hub, made["viewer"]) as viewer, client(hub, made["operator"]) as operator:
        listed = (await viewer.get("/api/exceptions")).json()["exceptions"]
        assert [e["id"] for e in listed] == [first]
        assert (await viewer.get(f"/api/exceptions/{first}")).json()["message"]["body"] == {"id": "A1"}
        assert (await viewer.get("/metrics")).status_code == 200
        assert (await viewer.post(f"/api/exceptions/{first}/retry")).status_code == 403
        assert (await operator.get("/api/audit")).status_code == 403, "the audit log is the admin's"

        r = await operator.post(f"/api/exceptions/{first}/retry", json={"body": {"id": "A2"}})
        assert r.status_code == 200 and r.json()["edited"] is True
        await hub.worker.drain()
        [again] = await hub.backend.exceptions()
        assert again.message.body == {"id": "A2"}, "the edited body was retried (and failed again)"
        assert (await operator.post(f"/api/exceptions/{first}/retry")).status_code == 404, "no longer open"
        assert (await operator.post(f"/api/exceptions/{again.id}/discard")).status_code == 200
        assert await hub.backend.exceptions() == []
        assert (await operator.post("/api/exceptions/1/retry", content=b"{not json")).status_code == 400
        assert (await operator.post("/api/exceptions/1/retry", json={"other": 1})).status_code == 400

    lines = [(e.actor, e.action, e.target, e.outcome) for e in reversed(await hub.backend.audit_log())]
    assert lines[3:] == [
        ("viewer-1", f"POST /api/exceptions/{first}/retry", "", "denied"),
        ("operator-1", "exception.retry", str(first), "ok"),
        ("operator-1", "exception.retry", str(first), "not found or not open"),
        ("operator-1", "exception.discard", str(again.id), "ok"),
    ]
    assert [line[1] for line in lines[:3]] == ["token.create"] * 3
    retried = next(e for e in await hub.backend.audit_log() if e.action == "exception.retry")
    assert retried.at > 0 and retried.detail["client"]


async def test_only_an_admin_manages_tokens_and_a_revoked_token_is_refused(hub: Hub) -> None:
    made = await tokens(hub)
    async with client(hub, made["admin"]) as admin, client(hub, made["operator"]) as operator:
        assert (await operator.post("/api/tokens", json={"name": "x", "role": "admin"})).status_code == 403
        assert (await operator.get("/api/tokens")).status_code == 403
        r = await admin.post("/api/tokens", json={"name": "ci", "role": "viewer"})
        assert r.status_code == 201
        fresh = r.json()["token"]
        assert fresh.startswith("il_") and r.json()["created_by"] == "admin-1"
        assert (await admin.post("/api/tokens", json={"name": "ci", "role": "viewer"})).status_code == 409
        assert (await admin.post("/api/tokens", json={"name": "y", "role": "root"})).status_code == 400
        listed = (await admin.get("/api/tokens")).json()["tokens"]
        assert [t["name"] for t in listed] == ["viewer-1", "operator-1", "admin-1", "ci"]
        assert fresh not in str(listed)
        async with client(hub, fresh) as ci:
            assert (await ci.get("/api/exceptions")).status_code == 200
            assert (await admin.delete("/api/tokens/ci")).status_code == 200
            assert (await ci.get("/api/exceptions")).status_code == 401
        assert (await admin.delete("/api/tokens/ci")).status_code == 404
        actions = [(e.actor, e.action, e.target) for e in await hub.backend.audit_log(actor="admin-1")]
        assert actions[:2] == [("admin-1", "token.revoke", "ci"), ("admin-1", "token.revoke", "ci")]


async def test_webhooks_and_health_need_no_token_and_metrics_can_be_opened(tmp_path: Path) -> None:
    h = Hub(load_config(write_config(tmp_path, open_metrics=True)))
    await h.start()
    try:
        async with client(h) as c:
            assert (await c.post("/hooks/shop/order", json={"id": "W1"})).status_code == 202
            assert (await c.get("/health")).status_code == 200
            assert "interlace_messages_received_total" in (await c.get("/metrics")).text
            assert (await c.get("/api/exceptions")).status_code == 401
    finally:
        await h.stop()


async def test_tokens_are_stored_hashed(hub: Hub) -> None:
    made = await tokens(hub)
    await hub.backend.close()
    await hub.backend.open()
    stored = b"".join(p.read_bytes() for p in hub.backend.path.parent.glob("hub.db*"))  # type: ignore[attr-defined]
    for token in made.values():
        assert token.encode() not in stored
        assert hashlib.sha256(token.encode()).hexdigest().encode() in stored


def test_the_cli_creates_lists_and_revokes_tokens_and_shows_the_audit_log(tmp_path: Path) -> None:
    config = str(write_config(tmp_path))
    made = interlace("token", "create", config, "--role", "operator", "--name", "ops-bot", check=True)
    token = made.stdout.strip()
    assert re.fullmatch(r"il_[A-Za-z0-9_-]{43}", token), made.stdout
    assert "shown only now" in made.stderr
    again = interlace("token", "create", config, "--role", "operator", "--name", "ops-bot")
    assert again.returncode == 1 and "exists" in again.stderr
    assert interlace("token", "create", config, "--role", "root", "--name", "x").returncode == 2
    listed = interlace("token", "list", config, "--json", check=True).stdout
    assert "ops-bot" in listed and "operator" in listed and token not in listed
    interlace("token", "revoke", config, "ops-bot", check=True)
    assert interlace("token", "revoke", config, "ops-bot").returncode == 1
    assert "ops-bot" not in interlace("token", "list", config, "--json", check=True).stdout
    assert "ops-bot" in interlace("token", "list", config, "--all", check=True).stdout
    log = interlace("audit", config, "--json", check=True).stdout
    lines = [(e["action"], e["target"], e["outcome"]) for e in json.loads(log)]
    assert lines == [("token.revoke", "ops-bot", "not found"), ("token.revoke", "ops-bot", "ok"),
                     ("token.create", "ops-bot", "ok")]  # fmt: skip
    assert all(e["actor"].startswith("cli") for e in json.loads(log))
    assert "token.create" in interlace("audit", config, check=True).stdout


async def test_retries_and_discards_from_the_cli_are_audited_too(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    h = Hub(load_config(config))
    await h.start()
    try:
        first = await park_one(h)
    finally:
        await h.stop()
    interlace("dlq", "retry", str(config), str(first), "--body", '{"id": "B1"}', check=True)
    assert interlace("dlq", "discard", str(config), "999").returncode == 1
    lines = json.loads(interlace("audit", str(config), "--json", check=True).stdout)
    assert [(e["action"], e["target"], e["outcome"], e["detail"]) for e in lines] == [
        ("exception.discard", "999", "not found or not open", {}),
        ("exception.retry", str(first), "ok", {"edited": True}),
    ]
    assert all(e["actor"].startswith("cli") for e in lines)
