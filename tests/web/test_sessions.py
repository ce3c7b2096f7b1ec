"""The console's login, session cookie and CSRF protection (web/sessions.py), over the ASGI app:
the token is traded for an HttpOnly, Secure, SameSite=Strict cookie; every state-changing request
needs the session's CSRF value and the hub's own origin; a weaker role, a revoked token, a logout
and a foreign `next` are each refused."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from console_support import write_hub
from interlace.config.loader import load_config
from interlace.connectors.base import Incoming
from interlace.hub import Hub
from interlace.web import auth

ORIGIN = "https://hub"


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[Hub]:
    h = Hub(load_config(write_hub(tmp_path)))
    await h.start()
    await h.ingress.submit("orders", [Incoming({"id": "A1", "email": "a@x.test", "total": -5}, event="order.created")])
    await h.worker.drain()
    yield h
    await h.stop()


def browser(hub: Hub) -> httpx.AsyncClient:
    """A client that keeps cookies, over https (a Secure cookie is sent back only there)."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=hub.app()), base_url=ORIGIN)


def hidden(html: str, name: str = "csrf") -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no hidden {name} field"
    return found.group(1)


async def log_in(c: httpx.AsyncClient, token: str, next_: str = "/console/") -> httpx.Response:
    form = await c.get("/console/login", params={"next": next_})
    return await c.post("/console/login", data={"csrf": hidden(form.text), "token": token,
                                                "next": hidden(form.text, "next")})  # fmt: skip


async def test_login_trades_the_token_for_a_secure_session_cookie(hub: Hub) -> None:
    operator, _ = await auth.create_token(hub.backend, "op", "operator", "test")
    async with browser(hub) as c:
        form = await c.get("/console/login")
        assert form.status_code == 200 and "interlace_login" in form.headers["set-cookie"]
        assert "frame-ancestors 'none'" in form.headers["content-security-policy"]
        # no login form value, or another one: refused before the token is even looked at
        assert (await c.post("/console/login", data={"token": operator})).status_code == 403
        assert (await c.post("/console/login", data={"token": operator, "csrf": "forged"})).status_code == 403
        bad = await log_in(c, "il_not-a-token")
        assert bad.status_code == 401 and "Unknown or revoked token" in bad.text
        r = await log_in(c, operator)
        assert r.status_code == 303 and r.headers["location"] == "/console/"
        cookie = next(v for k, v in r.headers.multi_items() if k == "set-cookie" and v.startswith("interlace_session="))
        assert {"HttpOnly", "Secure", "SameSite=strict"} <= {part.strip() for part in cookie.split(";")}
        assert operator not in cookie
        page = await c.get("/console/")
        assert page.status_code == 200 and "op (operator)" in page.text
    stored = b"".join(p.read_bytes() for p in hub.backend.path.parent.glob("hub.db*"))  # type: ignore[attr-defined]
    session = cookie.split(";")[0].split("=", 1)[1]
    assert session.encode() not in stored, "the store keeps the session's hash, not the session"
    lines = [(e.actor, e.action, e.outcome) for e in reversed(await hub.backend.audit_log())]
    assert ("", "console.login", "denied") in lines and ("op", "console.login", "ok") in lines


async def test_every_state_changing_request_needs_the_csrf_value_and_the_hubs_origin(hub: Hub) -> None:
    operator, _ = await auth.create_token(hub.backend, "op", "operator", "test")
    [parked] = await hub.backend.exceptions()
    async with browser(hub) as c:
        await log_in(c, operator)
        page = await c.get(f"/console/exceptions/{parked.id}")
        csrf = hidden(page.text)
        discard = f"/console/exceptions/{parked.id}/discard"
        assert (await c.post(discard)).status_code == 403
        assert (await c.post(discard, data={"csrf": "forged"})).status_code == 403
        assert (await c.post(discard, data={"csrf": csrf}, headers={"origin": "https://evil.test"})).status_code == 403
        assert (await hub.backend.exceptions())[0].status == "open", "nothing was done"
        r = await c.post(discard, data={"csrf": csrf}, headers={"origin": ORIGIN})
        assert r.status_code == 303 and "discarded" in r.headers["location"]
        assert await hub.backend.exceptions() == []
        # the header form, as a script would send it
        assert (await c.post("/console/exceptions/bulk", headers={"x-csrf-token": csrf},
                             data={"action": "retry", "ids": [str(parked.id)]})).status_code == 303  # fmt: skip
    denied = [e.detail.get("why") for e in await hub.backend.audit_log() if e.outcome == "denied"]
    assert denied == ["csrf"] * 3


async def test_a_viewer_reads_but_cannot_act_and_the_admin_alone_reads_the_audit_page(hub: Hub) -> None:
    viewer, _ = await auth.create_token(hub.backend, "v", "viewer", "test")
    admin, _ = await auth.create_token(hub.backend, "a", "admin", "test")
    [parked] = await hub.backend.exceptions()
    async with browser(hub) as c:
        await log_in(c, viewer)
        page = await c.get(f"/console/exceptions/{parked.id}")
        assert page.status_code == 200 and "Save and retry" not in page.text, "no actions offered to a viewer"
        r = await c.post(f"/console/exceptions/{parked.id}/retry", data={"csrf": hidden(page.text), "mode": "as-is"})
        assert r.status_code == 403 and "operator role" in r.text
        assert (await c.get("/console/audit")).status_code == 403
        assert "/console/audit" not in page.text
    async with browser(hub) as c:
        await log_in(c, admin)
        assert (await c.get("/console/audit")).status_code == 200


async def test_logout_and_revocation_end_a_session(hub: Hub) -> None:
    operator, _ = await auth.create_token(hub.backend, "op", "operator", "test")
    async with browser(hub) as c:
        await log_in(c, operator)
        page = await c.get("/console/")
        r = await c.post("/console/logout", data={"csrf": hidden(page.text)})
        assert r.status_code == 303 and r.headers["location"] == "/console/login"
        assert (await c.get("/console/")).status_code == 303
    async with browser(hub) as c:
        await log_in(c, operator)
        assert (await c.get("/console/")).status_code == 200
        await auth.revoke_token(hub.backend, "op", "test")
        gone = await c.get("/console/exceptions")
        assert gone.status_code == 303
        assert gone.headers["location"].startswith("/console/login?next=%2Fconsole%2Fexceptions")


async def test_login_goes_back_only_to_the_console(hub: Hub) -> None:
    operator, _ = await auth.create_token(hub.backend, "op", "operator", "test")
    for target, lands in (("/console/gain", "/console/gain"), ("https://evil.test/", "/console/"),
                          ("//evil.test/console", "/console/"), ("/api/config", "/console/")):  # fmt: skip
        async with browser(hub) as c:
            r = await log_in(c, operator, target)
            assert r.headers["location"] == lands, target


async def test_the_event_stream_sends_each_flows_live_figures(hub: Hub) -> None:
    viewer, _ = await auth.create_token(hub.backend, "v", "viewer", "test")
    async with browser(hub) as c:
        await log_in(c, viewer)
        r = await c.get("/console/events", params={"once": "1"}, headers={"accept": "text/event-stream"})
        assert r.headers["content-type"].startswith("text/event-stream")
        [data] = [line[6:] for line in r.text.splitlines() if line.startswith("data: ")]
        figures = json.loads(data)["flows"]["orders"]
        assert (figures["received"], figures["exceptions"], figures["backlog"]) == (1, 1, 0)
        assert set(figures) >= {"in", "out", "failed", "error_rate"}


async def test_a_console_session_on_a_postgresql_store(tmp_path: Path) -> None:
    """The console logs in and out on a PostgreSQL store as on SQLite (it answered 503 there)."""
    from backends.stores import store

    async with store("postgresql", tmp_path / "pg") as spec:
        h = Hub(load_config(write_hub(tmp_path)), backend=spec.open())
        await h.start()
        try:
            operator, _ = await auth.create_token(h.backend, "op", "operator", "test")
            async with browser(h) as c:
                r = await log_in(c, operator)
                assert r.status_code == 303 and r.headers["location"] == "/console/"
                page = await c.get("/console/")
                assert page.status_code == 200 and "op (operator)" in page.text
                r = await c.post("/console/logout", data={"csrf": hidden(page.text)})
                assert r.status_code == 303 and (await c.get("/console/")).status_code == 303
        finally:
            await h.stop()
