"""The backend contract: every backend keeps these promises (parametrised over the backends)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from backends.stores import BACKENDS, Store, store
from interlace.backends.base import (
    AuditEntry,
    Backend,
    FieldSource,
    GoldenChange,
    GoldenRecord,
    GoldenWrite,
    NewTask,
    NewWork,
    ParkedException,
    Settle,
    TaskDecision,
    TaskEscalation,
    TraceEntry,
    WorkItem,
)
from interlace.errors import Backpressure, IdempotencyConflict
from interlace.message import Message


@pytest.fixture(params=BACKENDS)
async def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """A fresh, empty store of each backend (removed after the test)."""
    async with store(request.param, tmp_path) as spec:
        yield spec


@pytest.fixture
async def backend(store_url: Store) -> AsyncIterator[Backend]:
    b = store_url.open()
    await b.open()
    yield b
    await b.close()


async def lease_some(backend: Backend, owner: str, limit: int, seconds: float) -> list[WorkItem]:
    """A lease that waits for work to be there: on a bus backend an item committed a moment ago
    reaches the lease by way of the broker (a publish and a delivery), which on a busy machine can
    take longer than one lease's own wait; on the others the first call returns it."""
    deadline = time.monotonic() + 30
    while True:
        items = await backend.lease(owner, limit, seconds)
        if items or time.monotonic() > deadline:
            return items
        await asyncio.sleep(0.05)


def msg(flow: str = "f", body: object = None) -> Message:
    return Message(flow=flow, body=body if body is not None else {"n": 1})


async def test_enqueue_lease_settle(backend: Backend) -> None:
    m = msg()
    assert await backend.enqueue([NewWork(m)]) == [m.id]
    assert await backend.pending() == 1
    [item] = await lease_some(backend, "w1", 10, 30)
    assert item.message == m and item.position == 0 and item.attempts == 0
    assert await backend.lease("w2", 10, 30) == [], "a leased item is not handed out twice"
    out = m.replace(body={"n": 2})
    trace = TraceEntry(m.id, m.correlation_id, "f", 0, "map", "ok", 1, {"n": 1}, {"n": 2})
    assert await backend.settle([Settle(item, [trace], outputs=[NewWork(out, 1)])]) == [True]
    [nxt] = await lease_some(backend, "w1", 10, 30)
    assert nxt.position == 1 and nxt.message.body == {"n": 2}
    assert await backend.settle([Settle(nxt, delivered=1)]) == [True]
    assert await backend.pending() == 0
    [entry] = await backend.trace(m.id)
    assert (entry.stage, entry.input, entry.output) == ("map", {"n": 1}, {"n": 2})
    [counts] = await backend.counts()
    assert (counts.received, counts.delivered, counts.exceptions) == (1, 1, 0)


async def test_expired_lease_comes_back_and_late_settle_is_refused(backend: Backend) -> None:
    await backend.enqueue([NewWork(msg())])
    [first] = await lease_some(backend, "crashed", 1, 0.2)
    await asyncio.sleep(0.3)  # only needs to outlast the lease: a slow machine sleeps longer, no harm
    [again] = await lease_some(backend, "w2", 1, 30)
    assert again.id == first.id
    assert await backend.settle([Settle(first, outputs=[NewWork(msg(), 1)])]) == [False]
    assert await backend.pending() == 1, "the late settle added no outputs"
    assert await backend.settle([Settle(again)]) == [True]


async def test_idempotency_key_enqueues_once(backend: Backend) -> None:
    a, b = msg(), msg()
    assert await backend.enqueue([NewWork(a, idempotency_key="k1")]) == [a.id]
    assert await backend.enqueue([NewWork(b, idempotency_key="k1")]) == [a.id]
    assert await backend.pending() == 1


async def test_cursor_is_stored_with_the_batch(backend: Backend) -> None:
    assert await backend.load_cursor("src") is None
    await backend.enqueue([NewWork(msg())], cursor=("src", {"updated_at": "2026-01-01", "id": 7}))
    assert await backend.load_cursor("src") == {"updated_at": "2026-01-01", "id": 7}


async def test_retry_later_then_park_then_retry_exception(backend: Backend) -> None:
    m = msg()
    await backend.enqueue([NewWork(m, position=2)])
    [item] = await lease_some(backend, "w", 1, 30)
    # the store reads the wall clock: a window wide enough for a busy machine to lease in
    retry_at = time.time() + 3
    assert await backend.settle([Settle(item, retry_at=retry_at)]) == [True]
    assert await backend.lease("w", 1, 30) == [], "not due before retry_at"
    await asyncio.sleep(max(0.0, retry_at - time.time()) + 0.05)
    [item] = await lease_some(backend, "w", 1, 30)
    assert item.attempts == 1
    failed = TraceEntry(m.id, m.correlation_id, "f", 2, "deliver:x", "failed", 2, m.body, error="boom")
    assert await backend.settle(
        [Settle(item, [failed], park=True, owner="ops", reason="deliver:x: boom", stage="deliver:x")]
    ) == [True]
    assert await backend.pending() == 0
    [exc] = await backend.exceptions(owner="ops")
    assert (exc.flow, exc.position, exc.stage, exc.reason, exc.status) == (
        "f",
        2,
        "deliver:x",
        "deliver:x: boom",
        "open",
    )
    detailed = await backend.get_exception(exc.id)
    assert detailed is not None and [h.status for h in detailed.history] == ["failed"]
    assert await backend.retry_exception(exc.id, body={"n": 99})
    assert not await backend.retry_exception(exc.id), "only open exceptions can be retried"
    [back] = await lease_some(backend, "w", 1, 30)
    assert back.position == 2 and back.attempts == 0 and back.message.body == {"n": 99}
    assert await backend.exceptions() == []
    assert [e.status for e in await backend.exceptions(status="retried")] == ["retried"]


async def test_discard(backend: Backend) -> None:
    await backend.enqueue([NewWork(msg())])
    [item] = await lease_some(backend, "w", 1, 30)
    await backend.settle([Settle(item, park=True, reason="bad", stage="map")])
    [exc] = await backend.exceptions()
    assert await backend.discard_exception(exc.id)
    assert not await backend.discard_exception(exc.id)
    assert await backend.exceptions() == []


async def test_concurrent_writes_are_grouped_and_all_durable(backend: Backend, store_url: Store) -> None:
    messages = [msg(body={"i": i}) for i in range(500)]
    ids = await asyncio.gather(*(backend.enqueue([NewWork(m)]) for m in messages))
    assert sorted(i[0] for i in ids) == sorted(m.id for m in messages)
    await backend.close()
    reopened = store_url.open()
    await reopened.open()
    try:
        assert await reopened.pending() == 500
    finally:
        await reopened.close()
    await backend.open()


async def test_trace_covers_derived_messages(backend: Backend) -> None:
    parent = msg()
    child = parent.child("0", {"part": 1})
    await backend.enqueue(
        [NewWork(parent)],
        traces=[TraceEntry(parent.id, parent.correlation_id, "f", 0, "received", "received")],
    )
    [item] = await lease_some(backend, "w", 1, 30)
    split = TraceEntry(child.id, child.correlation_id, "f", 1, "map", "ok", 1)
    await backend.settle([Settle(item, [split])])
    assert [t.message_id for t in await backend.trace(child.id)] == [parent.id, child.id]
    assert [t.message_id for t in await backend.trace(parent.id)] == [parent.id, child.id]


# -- golden records (entities in integrate mode) ----------------------------------------


def golden_write(
    key: str, values: dict[str, object], version: int, change_id: str, *, release_held: bool = False
) -> GoldenWrite:
    record = GoldenRecord(
        "customer",
        key,
        dict(values),
        {f: FieldSource("crm", 1.0, change_id) for f in values},
        sent={"erp": {f: [v] for f, v in values.items()}},
        version=version + 1,
        seen={"crm": 1.0},
    )
    change = GoldenChange("customer", key, change_id, "crm", "applied")
    return GoldenWrite(record, version, change, release_held=release_held)


async def test_golden_write_read_page_and_history(backend: Backend) -> None:
    assert await backend.golden("customer", ["a@x"]) == {}
    assert await backend.write_golden([golden_write("a@x", {"name": "A"}, 0, "m1")], cursor=("bf", {"k": "a@x"}))
    assert await backend.write_golden([golden_write("b@x", {"name": "B"}, 0, "m2")])
    found = await backend.golden("customer", ["a@x", "b@x", "c@x"])
    assert sorted(found) == ["a@x", "b@x"]
    a = found["a@x"]
    assert (a.values, a.version, a.status, a.provenance["name"]) == (
        {"name": "A"},
        1,
        "complete",
        FieldSource("crm", 1.0, "m1"),
    )
    assert (a.sent, a.seen) == ({"erp": {"name": ["A"]}}, {"crm": 1.0})
    assert await backend.load_cursor("bf") == {"k": "a@x"}
    assert [r.key for r in await backend.golden_page("customer", None, 10)] == ["a@x", "b@x"]
    assert [r.key for r in await backend.golden_page("customer", "a@x", 10)] == ["b@x"]
    [line] = await backend.golden_history("customer", "a@x")
    assert (line.change_id, line.kind, line.system) == ("m1", "applied", "crm")
    assert [c.key for c in await backend.golden_history("customer", prefix="m")] == ["a@x", "b@x"]
    assert await backend.golden_history("customer", prefix="backfill:") == []


async def test_golden_write_is_refused_on_a_moved_version_and_skipped_when_applied(backend: Backend) -> None:
    assert await backend.write_golden([golden_write("a@x", {"name": "A"}, 0, "m1")])
    assert not await backend.write_golden([golden_write("a@x", {"name": "stale"}, 0, "m2")]), "version moved"
    assert await backend.write_golden([golden_write("a@x", {"name": "again"}, 0, "m1")]), "applied: skipped"
    assert (await backend.golden("customer", ["a@x"]))["a@x"].values == {"name": "A"}
    assert [c.change_id for c in await backend.golden_history("customer", "a@x")] == ["m1"]


async def test_settle_with_golden_outputs_and_exceptions_in_one_transaction(backend: Backend) -> None:
    m = msg("customer:from:crm")
    await backend.enqueue([NewWork(m)])
    [item] = await lease_some(backend, "w", 1, 30)
    out = m.child("to:erp", {"email": "a@x"}, flow="customer:to:erp")
    held = ParkedException(m, 1, "sync:customer", "sales", "missing name", hold=("customer", "a@x"))
    write = golden_write("a@x", {"email": "a@x"}, 0, m.id)
    assert await backend.settle([Settle(item, outputs=[NewWork(out)], golden=[write], exceptions=[held])]) == [True]
    [exc] = await backend.exceptions(owner="sales")
    assert (exc.reason, exc.stage, exc.position) == ("missing name", "sync:customer", 1)
    [nxt] = await lease_some(backend, "w", 1, 30)
    assert nxt.message.id == out.id
    await backend.settle([Settle(nxt)])

    # the same change again (a redelivery): acked, nothing applied twice
    await backend.enqueue([NewWork(m)])
    [again] = await lease_some(backend, "w", 1, 30)
    dup = golden_write("a@x", {"email": "a@x"}, 1, m.id)
    assert await backend.settle([Settle(again, outputs=[NewWork(out)], golden=[dup])]) == [True]
    assert await backend.pending() == 0, "a duplicate change enqueues nothing"

    # a later complete change releases the held exception
    release = golden_write("a@x", {"email": "a@x", "name": "A"}, 1, "m-later", release_held=True)
    assert await backend.write_golden([release])
    assert await backend.exceptions(owner="sales") == []
    assert [e.id for e in await backend.exceptions(status="resolved")] == [exc.id]


async def test_settle_with_a_stale_golden_read_runs_the_item_again(backend: Backend) -> None:
    m = msg("customer:from:crm")
    await backend.enqueue([NewWork(m)])
    [item] = await lease_some(backend, "w", 1, 30)
    assert await backend.write_golden([golden_write("a@x", {"name": "first"}, 0, "other")])
    stale = golden_write("a@x", {"name": "mine"}, 0, m.id)
    out = m.child("to:erp", {}, flow="customer:to:erp")
    assert await backend.settle([Settle(item, outputs=[NewWork(out)], golden=[stale])]) == [False]
    [back] = await lease_some(backend, "w", 5, 30)
    assert back.id == item.id and back.attempts == 0, "due again at once, not counted as a failure"
    assert (await backend.golden("customer", ["a@x"]))["a@x"].values == {"name": "first"}


async def test_extend_keeps_a_slow_item_leased(backend: Backend) -> None:
    await backend.enqueue([NewWork(msg())])
    # the store reads the wall clock: leases long enough that a busy machine runs each step in time
    first_until = time.time() + 1.0
    [item] = await lease_some(backend, "w1", 1, 1.0)
    await backend.extend("w1", [item.id], 4.0)
    await backend.extend("someone-else", [item.id], 0.0)  # only the holder can extend
    await asyncio.sleep(max(0.0, first_until - time.time()) + 0.1)
    assert await backend.lease("w2", 1, 30) == [], "still leased after its first lease ran out"
    await asyncio.sleep(4.0)
    [again] = await lease_some(backend, "w2", 1, 30)
    assert again.id == item.id, "a lease nobody extends runs out"


async def test_daily_counts_follow_the_counts(backend: Backend) -> None:
    a, b = msg("a"), msg("b")
    await backend.enqueue([NewWork(a), NewWork(b), NewWork(msg("a"))])
    items = await backend.lease("w", 10, 30)
    first_a = next(i for i in items if i.message.id == a.id)
    outcomes = [Settle(first_a, delivered=2), *(Settle(i, park=True, reason="bad") for i in items if i is not first_a)]
    await backend.settle(outcomes)
    today = time.strftime("%Y-%m-%d", time.gmtime())
    counts = await backend.daily_counts()
    assert [(c.flow, c.day, c.received, c.delivered, c.exceptions) for c in counts] == [
        ("a", today, 2, 2, 1),
        ("b", today, 1, 0, 1),
    ]
    assert await backend.daily_counts(since="9999-01-01") == []
    assert [c.flow for c in await backend.daily_counts(today, today)] == ["a", "b"]


# -- flow control, idempotency, and the shared store ------------------------------------


async def test_a_bound_refuses_the_enqueue_that_would_pass_it_and_stores_nothing(backend: Backend) -> None:
    bounds = {"f": 3}
    await backend.enqueue([NewWork(msg()), NewWork(msg())], bounds=bounds)
    await backend.enqueue([NewWork(msg())], bounds=bounds)
    with pytest.raises(Backpressure) as refused:
        await backend.enqueue([NewWork(msg()), NewWork(msg("other"))], bounds=bounds)
    assert (refused.value.flow, refused.value.pending, refused.value.bound) == ("f", 3, 3)
    assert await backend.pending() == 3, "nothing of the refused batch was stored, not even the other flow's"
    assert backend.backlog_seen["f"] == 3
    await backend.enqueue([NewWork(msg("other"))], bounds=bounds)  # a flow without a bound
    assert await backend.backlog() == {"f": 3, "other": 1}
    [item] = await lease_some(backend, "w", 1, 30)
    await backend.settle([Settle(item, outputs=[NewWork(msg("routed"))])])
    expected = {"f": 3, "other": 1, "routed": 1}
    expected[item.message.flow] -= 1  # the settled item left its flow's backlog, its output joined another's
    assert await backend.backlog() == {f: n for f, n in expected.items() if n}
    [counts] = [c for c in await backend.counts() if c.flow == "f"]
    assert counts.received == 3


async def test_a_key_reused_with_another_fingerprint_is_refused(backend: Backend) -> None:
    a, b, c = msg(), msg(), msg()
    assert await backend.enqueue([NewWork(a, idempotency_key="k", fingerprint="f1")]) == [a.id]
    assert await backend.enqueue([NewWork(b, idempotency_key="k", fingerprint="f1")]) == [a.id]
    with pytest.raises(IdempotencyConflict):
        await backend.enqueue([NewWork(c), NewWork(b, idempotency_key="k", fingerprint="f2")])
    assert await backend.pending() == 1, "the batch with the conflict stored nothing"
    # one key twice in one batch: the second is the first's message
    d, e = msg(), msg()
    assert await backend.enqueue(
        [NewWork(d, idempotency_key="k2", fingerprint="x"), NewWork(e, idempotency_key="k2", fingerprint="x")]
    ) == [d.id, d.id]
    assert await backend.pending() == 2


async def test_tokens_and_the_audit_log(backend: Backend) -> None:
    token = await backend.create_token("ci", "operator", "hash-1", "cli:alice")
    assert (token.name, token.role, token.created_by, token.revoked_at) == ("ci", "operator", "cli:alice", None)
    with pytest.raises(ValueError, match="exists"):
        await backend.create_token("ci", "viewer", "hash-2", "cli:alice")
    assert await backend.token_by_hash("hash-1") == token
    assert await backend.token_by_hash("nope") is None
    assert await backend.revoke_token("ci")
    assert not await backend.revoke_token("ci")
    assert await backend.token_by_hash("hash-1") is None
    assert await backend.tokens() == []
    [revoked] = await backend.tokens(revoked=True)
    assert revoked.revoked_at is not None
    again = await backend.create_token("ci", "viewer", "hash-3", "cli:bob")  # the name is free again
    assert again.id != token.id
    await backend.record_audit(AuditEntry("cli:alice", "token.create", "ci", "ok", {"role": "operator"}))
    await backend.record_audit(AuditEntry("cli:bob", "dlq.retry", "7", "not found"))
    latest, first = await backend.audit_log()
    assert (latest.actor, latest.action, latest.outcome) == ("cli:bob", "dlq.retry", "not found")
    assert first.detail == {"role": "operator"} and first.at > 0
    assert [e.action for e in await backend.audit_log(actor="cli:alice")] == ["token.create"]
    assert len(await backend.audit_log(limit=1)) == 1


async def test_processes_sharing_the_store_never_lease_an_item_twice(backend: Backend, store_url: Store) -> None:
    await backend.enqueue([NewWork(msg(body={"i": i})) for i in range(300)])
    other = store_url.open()  # a second process: its own connections to the same store
    await other.open()
    try:
        leased: list[int] = []

        async def work(b: Backend, owner: str) -> None:
            while items := await b.lease(owner, 7, 30):
                leased.extend(i.id for i in items)
                assert await b.settle([Settle(i, delivered=1) for i in items]) == [True] * len(items)

        await asyncio.gather(*(work(b, f"w{n}") for n in range(3) for b in (backend, other)))
        assert len(leased) == len(set(leased)) == 300
        assert await other.pending() == 0
        [counts] = await other.counts()
        assert (counts.received, counts.delivered) == (300, 300)
    finally:
        await other.close()


async def test_a_leader_lease_is_held_by_one_holder_until_it_runs_out(backend: Backend) -> None:
    assert await backend.lead("schedules", "a", 10, now=1000.0)
    assert not await backend.lead("schedules", "b", 10, now=1005.0), "held by a until 1010"
    assert await backend.lead("schedules", "a", 10, now=1005.0), "a renews until 1015"
    assert not await backend.lead("schedules", "b", 10, now=1014.0)
    assert await backend.lead("schedules", "b", 10, now=1015.5), "a stopped renewing: b takes over"
    assert not await backend.lead("schedules", "a", 10, now=1016.0)
    assert await backend.lead("other", "a", 10, now=1016.0), "leases are named"
    await backend.resign("schedules", "a")  # not a's any more: no effect
    assert not await backend.lead("schedules", "a", 10, now=1017.0)
    await backend.resign("schedules", "b")
    assert await backend.lead("schedules", "a", 10, now=1017.0), "given up: free at once"
    assert await backend.lead("clock", "a", 5), "the store's own clock"
    assert not await backend.lead("clock", "b", 5)


async def test_config_versions(backend: Backend) -> None:
    assert await backend.latest_config() is None
    v1 = await backend.publish_config("h1", "hub: {name: a}\n", "host:1")
    assert (v1.hash, v1.text, v1.published_by) == ("h1", "hub: {name: a}\n", "host:1")
    assert await backend.publish_config("h1", "hub: {name: a}\n", "host:2") == v1, "the same config: no new version"
    v2 = await backend.publish_config("h2", "hub: {name: b}\n", "host:2")
    assert v2.version > v1.version
    assert await backend.latest_config() == v2


async def test_a_bound_holds_under_concurrent_enqueues(backend: Backend) -> None:
    results = await asyncio.gather(
        *(backend.enqueue([NewWork(msg(body={"n": i}))], bounds={"f": 6}) for i in range(20)), return_exceptions=True
    )
    assert sum(isinstance(r, list) for r in results) == 6, results
    assert all(isinstance(r, list | Backpressure) for r in results)
    assert await backend.pending() == 6
async def test_recent_messages_newest_first_by_flow(backend: Backend) -> None:
    if type(backend).recent_messages is Backend.recent_messages:
        pytest.skip(f"{type(backend).__name__} lists no recent messages (the console's Messages page is empty)")
    found = []
    for flow in ("a", "b", "a"):
        m = msg(flow)
        await backend.enqueue([NewWork(m)], traces=[TraceEntry(m.id, m.correlation_id, flow, 0, "received",
                                                               "received", 0, m.body, at=time.time())])  # fmt: skip
        found.append(m.id)
    assert [e.message_id for e in await backend.recent_messages()] == found[::-1]
    assert [e.message_id for e in await backend.recent_messages(flow="a", limit=1)] == [found[2]]


async def test_console_sessions_end_with_their_token_their_time_or_a_logout(backend: Backend) -> None:
    if type(backend).create_session is Backend.create_session:
        pytest.skip(f"{type(backend).__name__} keeps no console sessions (the console answers 503)")
    token = await backend.create_token("t", "operator", "hash-t", "test")
    now = time.time()
    await backend.create_session("s1", token.id, "csrf-1", now + 60)
    await backend.create_session("s2", token.id, "csrf-2", now - 1)
    found = await backend.session("s1", now)
    assert found is not None and (found[0].name, found[0].role, found[1]) == ("t", "operator", "csrf-1")
    assert await backend.session("s2", now) is None, "expired"
    assert await backend.session("s1", now + 61) is None
    await backend.end_session("s1")
    assert await backend.session("s1", now) is None, "logged out"
    await backend.create_session("s3", token.id, "csrf-3", now + 60)
    await backend.revoke_token("t")
    assert await backend.session("s3", now) is None, "its token revoked"


# -- human tasks (engine/tasks.py) ---------------------------------------------------------------
async def _waiting(backend: Backend, n: int = 1, owner: str = "managers", due_at: float | None = 100.0) -> list[int]:
    """`n` messages that reached a task step at position 1 of flow `f`, stored with their ack."""
    await backend.enqueue([NewWork(msg(body={"id": str(i), "total": 20_000 + i}), 1) for i in range(n)])
    items = await backend.lease("w1", n, 30)
    tasks = [NewTask(i.message, 1, "task:order", owner, due_at, "finance-ops", 10.0) for i in items]
    assert await backend.settle([Settle(i, tasks=[t]) for i, t in zip(items, tasks, strict=True)]) == [True] * n
    return [t.id for t in await backend.tasks(owners=[owner])][-n:]


async def test_a_task_holds_its_message_and_no_work_item(backend: Backend) -> None:
    [task_id] = await _waiting(backend)
    assert await backend.pending() == 0, "the message waits in its task, not as a leased item"
    assert await backend.lease("w2", 10, 30) == []
    [t] = await backend.tasks(status="open")
    assert (t.id, t.owner, t.status, t.level, t.due_at, t.name, t.position) == (
        task_id, "managers", "open", 0, 100.0, "task:order", 1)
    assert await backend.tasks(owners=["directors"]) == []
    assert [t.id for t in await backend.tasks(due_by=100.0)] == [task_id]
    assert await backend.tasks(due_by=99.0) == []
    found = await backend.get_task(task_id)
    assert found is not None and [h["kind"] for h in found.history] == ["created"]


async def test_an_approval_resumes_the_message_at_the_next_position_once(backend: Backend) -> None:
    [task_id] = await _waiting(backend)
    original = await backend.get_task(task_id)
    assert original is not None
    edited = {**original.message.body, "total": 19_000}  # type: ignore[dict-item]
    done = await backend.decide_task(task_id, TaskDecision("approve", "alice", 50.0, edited, "ok", "managers"))
    assert done is not None and (done.status, done.decided_by, done.decided_at) == ("approved", "alice", 50.0)
    assert done.history[-1]["edited"] == ["total"]
    [item] = await lease_some(backend, "w1", 10, 30)
    assert item.position == 2 and item.message.id == original.message.id and item.message.body == edited
    header = json.loads(item.message.headers["interlace-task"])
    assert (header["decision"], header["by"], header["id"]) == ("approved", "alice", task_id)
    again = TaskDecision("reject", "bob", 51.0, owner="managers")
    assert await backend.decide_task(task_id, again) is None, "decided at most once"
    [entry] = [t for t in await backend.trace(original.message.id) if t.status == "approved"]
    assert entry.stage == "task:order" and entry.output["by"] == "alice"  # type: ignore[index]


async def test_a_rejection_parks_the_message_for_the_reject_owner(backend: Backend) -> None:
    [task_id] = await _waiting(backend)
    done = await backend.decide_task(task_id, TaskDecision("reject", "alice", 50.0, comment="too much"))
    assert done is not None and done.status == "rejected"
    [e] = await backend.exceptions(owner="finance-ops")
    assert e.stage == "task:order" and "rejected by alice: too much" in e.reason and e.position == 1
    assert await backend.pending() == 0
    assert [c.exceptions for c in await backend.counts()] == [1]


async def test_a_decision_for_another_owner_is_refused(backend: Backend) -> None:
    [task_id] = await _waiting(backend)
    assert await backend.decide_task(task_id, TaskDecision("approve", "carol", 50.0, owner="directors")) is None
    task = await backend.get_task(task_id)
    assert task is not None and task.status == "open"


async def test_concurrent_decisions_decide_a_task_once(backend: Backend) -> None:
    [task_id] = await _waiting(backend)
    decisions = [TaskDecision("approve" if i % 2 else "reject", f"d{i}", 50.0 + i) for i in range(8)]
    found = await asyncio.gather(*(backend.decide_task(task_id, d) for d in decisions))
    winners = [f for f in found if f is not None]
    assert len(winners) == 1
    resumed = len(await backend.lease("w1", 10, 30)) + len(await backend.exceptions())
    assert resumed == 1, "one decision resumed the message, once"


async def test_escalation_moves_a_task_once_and_reminds_the_new_owner(backend: Backend) -> None:
    ids = await _waiting(backend, 3)
    moves = [TaskEscalation(i, 0, "directors", 500.0, 200.0, [("email", "dir@acme.test")]) for i in ids[:2]]
    moves.append(TaskEscalation(ids[2], 1, "directors", 500.0, 200.0))  # stale level: not moved
    assert await backend.escalate_tasks(moves, context={"hub": "acme"}) == ids[:2]
    assert await backend.escalate_tasks(moves[:1]) == [], "moved once"
    moved = await backend.tasks(owners=["directors"])
    assert [(t.id, t.level, t.due_at, t.overdue_since) for t in moved] == [(i, 1, 500.0, 200.0) for i in ids[:2]]
    task = await backend.get_task(ids[0])
    assert task is not None and task.history[-1] == {"kind": "escalated", "at": 200.0, "by": "interlace",
                                                     "from": "managers", "owner": "directors", "due_at": 500.0}
    assert [t.status for t in await backend.trace(task.message.id)][-1] == "escalated"
    if type(backend).notices is Backend.notices:
        return  # a store without notices keeps no reminders either
    [notice] = await backend.notices()
    assert (notice.owner, notice.channel, notice.target) == ("directors", "email", "dir@acme.test")
    assert notice.digest["kind"] == "tasks" and notice.digest["count"] == 2, "one reminder for both tasks"
    assert [s["id"] for s in notice.digest["samples"]] == ids[:2]  # type: ignore[index, union-attr]
