"""The hub's end of an agent's link (agent/links.py, agent/sink.py), through the hub's own app:
who is admitted, a batch sent twice is enqueued once, a delivery is settled only by the agent's
report, one whose report was lost is handed out again, and one never confirmed fails."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from interlace.agent import wire
from interlace.agent.links import AgentDeliveryError
from interlace.config.loader import load_config
from interlace.hub import Hub
from interlace.message import Message

CONFIG = """
hub: {name: central, store: "sqlite:///hub.db"}
owners: {ops: {email: ops@x.test}}
agents:
  plant-1: {url: "https://127.0.0.1:8443", token: "plant-1-token-0123456789", confirm_within: 2s}
  plant-2: {url: "https://127.0.0.1:8443", token: "plant-2-token-0123456789"}
systems:
  plant: {connector: sqlite, path: ./plant.db, agent: plant-1}
  other: {connector: sqlite, path: ./other.db, agent: plant-2}
  central: {connector: sqlite, path: ./central.db}
flows:
  up:
    trigger: {system: plant, table: readings, cursor: id}
    deliver: {system: central, table: readings}
    on_error: {owner: ops}
  down:
    trigger: {system: central, table: setpoints, cursor: id}
    deliver: {system: plant, table: setpoints}
    on_error: {owner: ops}
  other-up:
    trigger: {system: other, table: readings, cursor: id}
    deliver: {system: central, table: readings}
    on_error: {owner: ops}
"""
TOKEN = {"Authorization": "Bearer plant-1-token-0123456789"}


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[Hub]:
    (tmp_path / "hub.yaml").write_text(CONFIG)
    hub = Hub(load_config(tmp_path / "hub.yaml"))
    await hub.start(workers=False, sources=False)
    try:
        yield hub
    finally:
        await hub.stop()


def client(hub: Hub, headers: dict[str, str] = TOKEN) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=hub.app()), base_url="https://hub", headers=headers)


def message(flow: str, n: int) -> dict[str, Any]:
    return wire.dump(Message(id=f"m{n}", flow=flow, body={"id": n}))


async def test_a_token_admits_its_own_agent_only(hub: Hub) -> None:
    body = {"messages": [message("up", 1)]}
    async with client(hub, {}) as c:
        assert (await c.post(wire.messages_path("plant-1"), json=body)).status_code == 401
    async with client(hub, {"Authorization": "Bearer plant-2-token-0123456789"}) as c:
        assert (await c.post(wire.messages_path("plant-1"), json=body)).status_code == 401
    async with client(hub, {"Authorization": "Bearer wrong"}) as c:
        assert (await c.post(wire.messages_path("plant-9"), json=body)).status_code == 401
    async with client(hub) as c:
        refused = await c.post(wire.messages_path("plant-1"), json={"messages": [message("other-up", 2)]})
        assert refused.status_code == 409, "a flow another agent's system triggers"
        assert (await c.post(wire.messages_path("plant-1"), json=body)).status_code == 200
    assert await hub.backend.pending() == 1


async def test_a_batch_sent_again_after_a_cut_is_enqueued_once(hub: Hub) -> None:
    batch = {"messages": [message("up", n) for n in range(50)]}
    async with client(hub) as c:
        for _ in range(3):  # its answer was lost twice: the agent sends it again
            answer = await c.post(wire.messages_path("plant-1"), json=batch)
            assert answer.json() == {"accepted": 50}
    assert await hub.backend.pending() == 50
    [link, _] = hub.agent_views()
    assert link["uplinked"] == 150


async def test_a_delivery_settles_only_with_the_agents_report_and_is_handed_again_when_lost(hub: Hub) -> None:
    sink = hub.flows["down"].deliveries[0].sink
    sent = [(Message(flow="down", body={"n": n}), f"d{n}") for n in range(3)]
    delivering = asyncio.create_task(sink.deliver_many(sent))
    async with client(hub) as c:
        first = (await c.post(wire.poll_path("plant-1"), json={"results": [], "wait": 5})).json()["deliveries"]
        assert [d["id"] for d in first] == ["d0", "d1", "d2"]
        assert {(d["flow"], d["index"]) for d in first} == {("down", 0)}
        assert not delivering.done(), "nothing is settled before the agent reports"
        # the answer was lost in a cut: the next poll reports nothing, so all three come again
        again = (await c.post(wire.poll_path("plant-1"), json={"results": [], "wait": 5})).json()["deliveries"]
        assert [d["id"] for d in again] == ["d0", "d1", "d2"]
        results = [{"id": "d0", "result": "ok"}, {"id": "d1", "error": "bad row", "retryable": False},
                   {"id": "d2", "result": 1}]  # fmt: skip
        empty = (await c.post(wire.poll_path("plant-1"), json={"results": results, "wait": 0})).json()
        assert empty == {"deliveries": []}
    outcome = await asyncio.wait_for(delivering, 10)
    assert outcome[0] == "ok" and outcome[2] == 1
    assert isinstance(outcome[1], AgentDeliveryError) and not outcome[1].retryable
    assert "bad row" in str(outcome[1])
    [link, _] = hub.agent_views()
    assert (link["delivered"], link["failed"], link["waiting"]) == (2, 1, 0)


async def test_a_delivery_never_confirmed_fails_and_is_retried_by_the_flow(hub: Hub) -> None:
    sink = hub.flows["down"].deliveries[0].sink
    [failure] = await sink.deliver_many([(Message(flow="down", body={}), "d-late")])  # confirm_within: 2s
    assert isinstance(failure, AgentDeliveryError) and failure.retryable
    assert "did not confirm" in str(failure) and "never connected" in str(failure)
    async with client(hub) as c:  # it was taken back: the agent is not handed it any more
        late = await c.post(wire.poll_path("plant-1"), json={"results": [{"id": "d-late", "result": 1}], "wait": 0})
    assert late.json() == {"deliveries": []}


async def test_the_api_shows_each_agent_its_systems_and_its_link(hub: Hub, tmp_path: Path) -> None:
    from interlace.web import auth

    token, _ = await auth.create_token(hub.backend, "viewer", "viewer", "test")
    viewer = {"Authorization": f"Bearer {token}"}
    async with client(hub, viewer) as c:
        before = {a["name"]: a for a in (await c.get("/api/agents")).json()["agents"]}
    assert before["plant-1"]["state"] == "never connected" and before["plant-1"]["systems"] == ["plant"]
    async with client(hub) as c:
        await c.post(wire.poll_path("plant-1"), json={"results": [], "wait": 0, "buffered": 7})
    async with client(hub, viewer) as c:
        after = {a["name"]: a for a in (await c.get("/api/agents")).json()["agents"]}
        systems = {s["name"]: s for s in (await c.get("/api/systems")).json()["systems"]}
    assert after["plant-1"]["state"] == "connected" and after["plant-1"]["buffered"] == 7
    assert after["plant-2"]["state"] == "never connected"
    assert systems["plant"]["agent"] == "plant-1" and systems["plant"]["health"]["status"] == "up"
    assert systems["other"]["health"] == {"status": "down", "error": "agent plant-2 is never connected"}


async def test_the_console_shows_each_agent_and_its_link(hub: Hub) -> None:
    import re

    from interlace.web import auth

    token, _ = await auth.create_token(hub.backend, "viewer", "viewer", "test")
    async with client(hub) as c:
        await c.post(wire.poll_path("plant-1"), json={"results": [], "wait": 0, "buffered": 3})
    async with client(hub, {}) as browser:  # a session cookie, traded for the token at the login page
        form = await browser.get("/console/login", params={"next": "/console/agents"})
        csrf = re.search(r'name="csrf" value="([^"]*)"', form.text)
        assert csrf is not None
        await browser.post("/console/login", data={"csrf": csrf.group(1), "token": token, "next": "/console/agents"})
        page = await browser.get("/console/agents")
    assert page.status_code == 200
    rows = {m[0]: m[1] for m in re.findall(r"<strong>([\w-]+)</strong>.*?badge \w+\">([\w ]+)</span>", page.text, re.S)}
    assert rows == {"plant-1": "connected", "plant-2": "never connected"}
    assert 'href="/console/agents"' in page.text, "the nav links the page when the config has agents"


async def test_a_stopping_hub_answers_the_waiting_polls_at_once(hub: Hub) -> None:
    async with client(hub) as c:
        waiting = asyncio.create_task(c.post(wire.poll_path("plant-1"), json={"results": [], "wait": 60}))
        while not hub.agent_views()[0]["open_requests"]:
            await asyncio.sleep(0.01)
        assert not waiting.done()
        hub.agents.release()  # the Supervisor does it once its server is stopping
        answer = await asyncio.wait_for(waiting, 30)  # well before the poll's 60 s
    assert answer.json() == {"deliveries": []}
