"""Human tasks through the admin API, on a hub in this process with an injected clock: a large
order waits for a manager, who may edit only the editable fields, and is delivered once decided
(the decision in its trace and its headers); a rejected one is an exception of finance-ops; two
deciders at once decide it once (the second is answered 409); past the deadline the task goes to
the directors, and past theirs it takes its default."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from approvals_support import PEOPLE, ManualClock, erp_rows, write_hub
from interlace.config.loader import load_config
from interlace.connectors.base import Incoming
from interlace.hub import Hub
from interlace.web import auth


class Served:
    def __init__(self, hub: Hub, tokens: dict[str, str], folder: Path, clock: ManualClock) -> None:
        self.hub, self.tokens, self.folder, self.clock = hub, tokens, folder, clock
        self.app = hub.app()

    def client(self, who: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://hub",
                                 headers={"Authorization": f"Bearer {self.tokens[who]}"})  # fmt: skip

    async def order(self, order_id: str, total: float) -> None:
        body = {"id": order_id, "email": f"{order_id.lower()}@x.test", "total": total}
        await self.hub.ingress.submit("orders", [Incoming(body, event="order.created")])
        await self.hub.worker.drain()

    async def tasks(self, who: str = "viewer", **params: Any) -> list[dict[str, Any]]:
        async with self.client(who) as c:
            r = await c.get("/api/tasks", params=params)
        assert r.status_code == 200, r.text
        return list(r.json()["tasks"])


@pytest.fixture
async def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Served]:
    monkeypatch.chdir(tmp_path)
    clock = ManualClock(time.time())
    hub = Hub(load_config(write_hub(tmp_path)), clock=clock)
    await hub.start(sources=False)  # the sweep is ticked by the test
    tokens = {}
    for name, role in PEOPLE.items():
        tokens[name], _ = await auth.create_token(hub.backend, name, role, "test")  # type: ignore[arg-type]
    try:
        yield Served(hub, tokens, tmp_path, clock)
    finally:
        await hub.stop()


async def test_a_large_order_waits_for_a_manager_and_goes_on_once_approved(served: Served) -> None:
    await served.order("S1", 50)
    await served.order("L1", 25_000)
    assert [r[0] for r in erp_rows(served.folder)] == ["S1"], "only the small order went through"
    [task] = await served.tasks("alice", mine="true")
    assert (task["owner"], task["status"], task["overdue"]) == ("managers", "open", False)
    assert await served.tasks("carol", mine="true") == [], "not a director's task yet"
    assert await served.hub.backend.pending() == 0, "the waiting order holds no work item"
    path = f"/api/tasks/{task['id']}"
    async with served.client("dave") as c:
        r = await c.post(path + "/approve", json={})
        assert r.status_code == 403 and "members of 'managers'" in r.json()["error"]
    async with served.client("alice") as c:
        detail = (await c.get(path)).json()
        assert detail["editable"] == ["total", "express"] and detail["members"] == ["alice", "bob"]
        edited = {**detail["message"]["body"], "email": "other@x.test"}
        r = await c.post(path + "/approve", json={"body": edited})
        assert r.status_code == 400 and "email: not editable" in r.json()["error"]
        r = await c.post(path + "/approve", json={"body": {**detail["message"]["body"], "total": -1}})
        assert r.status_code == 400 and "total" in r.json()["error"], "the entity's schema still holds"
        r = await c.post(path + "/approve", json={"body": {**detail["message"]["body"], "total": 24_000},
                                                  "comment": "discount agreed"})  # fmt: skip
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "approved" and r.json()["history"][-1]["edited"] == ["total"]
        again = await c.post(path + "/reject", json={})
        assert again.status_code == 409 and "already approved by alice" in again.json()["error"]
    await served.hub.worker.drain()
    rows = dict((r[0], r[1:]) for r in erp_rows(served.folder))
    assert rows["L1"][0] == 24_000 and '"by": "alice"' in str(rows["L1"][1]), "delivered with its decision"
    async with served.client("viewer") as c:
        trace = (await c.get(f"/api/messages/{task['message_id']}/trace")).json()["trace"]
    statuses = [(t["stage"], t["status"]) for t in trace]
    assert ("task:approve large order", "waiting") in statuses
    assert ("task:approve large order", "approved") in statuses
    assert statuses[-1] == ("deliver:erp", "ok")
    approved = next(t for t in trace if t["status"] == "approved")
    assert approved["output"]["by"] == "alice" and approved["output"]["comment"] == "discount agreed"
    audit = await served.hub.backend.audit_log(actor="alice")
    assert audit[0].action == "task.reject" and audit[0].outcome.startswith("already approved"), "refusals too"
    assert ("task.approve", "ok") in [(a.action, a.outcome) for a in audit]


async def test_a_rejected_order_becomes_an_exception_of_finance_ops(served: Served) -> None:
    await served.order("L2", 40_000)
    [task] = await served.tasks()
    async with served.client("bob") as c:
        r = await c.post(f"/api/tasks/{task['id']}/reject", json={"comment": "customer unknown"})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    [e] = await served.hub.backend.exceptions(owner="finance-ops")
    assert e.message.body["id"] == "L2" and "rejected by bob: customer unknown" in e.reason  # type: ignore[index]
    assert erp_rows(served.folder) == []
    assert [t["status"] for t in await served.tasks(status="all")] == ["rejected"]


async def test_two_deciders_at_the_same_moment_decide_once(served: Served) -> None:
    for i in range(10):
        await served.order(f"C{i}", 20_000 + i)
    tasks = await served.tasks()
    assert len(tasks) == 10

    async def decide(who: str, task_id: int, verdict: str) -> int:
        async with served.client(who) as c:
            return (await c.post(f"/api/tasks/{task_id}/{verdict}", json={})).status_code

    answers = await asyncio.gather(*(decide(who, t["id"], verdict) for t in tasks
                                     for who, verdict in (("alice", "approve"), ("bob", "reject"))))  # fmt: skip
    for i in range(10):
        pair = sorted(answers[2 * i : 2 * i + 2])
        assert pair == [200, 409], (i, pair)
    await served.hub.worker.drain()
    decided = await served.tasks(status="all")
    approved = {t["message_id"] for t in decided if t["status"] == "approved"}
    rejected = {t["message_id"] for t in decided if t["status"] == "rejected"}
    assert len(approved) + len(rejected) == 10 and not approved & rejected
    assert len(erp_rows(served.folder)) == len(approved), "each approved order delivered once"
    assert len(await served.hub.backend.exceptions()) == len(rejected)


async def test_past_the_deadline_the_task_escalates_and_then_takes_its_default(served: Served) -> None:
    await served.order("L3", 30_000)
    sweep = served.hub.task_sweep
    assert sweep is not None
    assert await sweep.tick() == (0, 0), "not due yet"
    served.clock.advance(3601)
    assert await sweep.tick() == (1, 0)
    [task] = await served.tasks("carol", mine="true")
    assert (task["owner"], task["level"], task["overdue"]) == ("directors", 1, True)
    assert (await served.tasks(overdue="true"))[0]["id"] == task["id"]
    async with served.client("alice") as c:
        r = await c.post(f"/api/tasks/{task['id']}/approve", json={})
        assert r.status_code == 403, "a manager may no longer decide it"
    [notice] = await served.hub.backend.notices()
    assert (notice.owner, notice.target, notice.digest["kind"]) == ("directors", "directors@acme.test", "tasks")
    served.clock.advance(3601)
    assert await sweep.tick() == (0, 1)
    async with served.client("viewer") as c:
        detail = (await c.get(f"/api/tasks/{task['id']}")).json()
    assert detail["status"] == "rejected" and detail["decided_by"] == "interlace (deadline)"
    assert [h["kind"] for h in detail["history"]] == ["created", "escalated", "rejected"]
    [e] = await served.hub.backend.exceptions(owner="finance-ops")
    assert "no decision within 1h by managers, directors" in e.reason
