"""1,000 large orders (put into the store in one transaction, as `interlace send` puts one) wait
for a manager in a real hub process, which is killed (kill -9) and
started again: every task is still there, with its message, and is decided from the API after;
two managers deciding the same tasks at the same moment (two threads, one each) decide each task
once, the second answered 409, and the ERP gets each approved order once."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import httpx

from approvals_support import erp_rows, make_tokens, write_hub
from interlace.config.loader import load_config
from interlace.connectors.base import Incoming
from interlace.hub import Hub

from support import HubProcess, free_port

WAITING = 1000
RACED = 60


def _tasks(url: str, token: str, **params: Any) -> list[dict[str, Any]]:
    r = httpx.get(f"{url}/api/tasks", params=params, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert r.status_code == 200, r.text
    return list(r.json()["tasks"])


def _until(check: Any, what: str, timeout: float = 120.0) -> Any:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout:g} s")


async def _send(config: Path, bodies: list[object]) -> None:
    """The orders into the running hub's store in one transaction, as `interlace send` puts one."""
    hub = Hub(load_config(config))
    await hub.backend.open()
    try:
        await hub.ingress.submit("orders", [Incoming(body, event="order.created") for body in bodies], validate=True)
    finally:
        await hub.backend.close()


def test_a_restart_with_1000_waiting_tasks_loses_none_and_racing_deciders_decide_once(
    tmp_path: Path, hub_process: list[HubProcess]
) -> None:
    config = write_hub(tmp_path)
    tokens = make_tokens(config)
    hub = HubProcess(config, free_port(), log=tmp_path / "hub.log")
    hub_process.append(hub)
    hub.start()
    bodies: dict[str, object] = {f"L{i:04d}": {"id": f"L{i:04d}", "email": f"c{i}@x.test", "total": 20_000 + i}
                                 for i in range(WAITING)}  # fmt: skip
    asyncio.run(_send(config, list(bodies.values())))
    viewer = tokens["viewer"]
    before = _until(lambda: (t := _tasks(hub.url, viewer)) and len(t) == WAITING and t, "1,000 tasks open")
    assert erp_rows(tmp_path) == [], "every order waits"

    hub.kill()
    hub.start()
    after = _tasks(hub.url, viewer)
    assert [(t["id"], t["message_id"], t["status"]) for t in after] == [
        (t["id"], t["message_id"], "open") for t in before
    ], "the restart lost no task"
    first = httpx.get(f"{hub.url}/api/tasks/{after[0]['id']}", headers={"Authorization": f"Bearer {viewer}"})
    assert first.json()["message"]["body"] == bodies[first.json()["message"]["body"]["id"]]

    raced = after[:RACED]
    answers: dict[str, list[tuple[int, int]]] = {"alice": [], "bob": []}
    start = threading.Barrier(2)

    def decider(who: str, verdict: str) -> None:
        with httpx.Client(base_url=hub.url, headers={"Authorization": f"Bearer {tokens[who]}"}, timeout=30) as c:
            start.wait()
            for t in raced:
                r = c.post(f"/api/tasks/{t['id']}/{verdict}", json={"comment": f"{who} says {verdict}"})
                answers[who].append((t["id"], r.status_code))

    threads = [threading.Thread(target=decider, args=a) for a in (("alice", "approve"), ("bob", "reject"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    for (task_id, a), (same, b) in zip(answers["alice"], answers["bob"], strict=True):
        assert task_id == same and sorted((a, b)) == [200, 409], (task_id, a, b)
    approved = {i for i, status in answers["alice"] if status == 200}
    rejected = {i for i, status in answers["bob"] if status == 200}
    assert len(approved) + len(rejected) == RACED
    raced_ids = {t["message_id"]: t["id"] for t in raced}
    delivered = _until(lambda: len(rows := erp_rows(tmp_path)) == len(approved) and rows, "approved orders delivered",
                       timeout=60) if approved else []  # fmt: skip
    assert len({r[0] for r in delivered}) == len(approved), "each approved order delivered once"
    exceptions = httpx.get(f"{hub.url}/api/exceptions", params={"owner": "finance-ops"},
                           headers={"Authorization": f"Bearer {viewer}"}).json()["exceptions"]  # fmt: skip
    assert sorted(raced_ids[e["message_id"]] for e in exceptions) == sorted(rejected)
    assert len(_tasks(hub.url, viewer)) == WAITING - RACED, "the others still wait"
