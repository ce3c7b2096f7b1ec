"""The backend contract: every backend keeps these promises (parametrised over the backends)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from interlace.backends import open_backend
from interlace.backends.base import Backend, NewWork, Settle, TraceEntry
from interlace.message import Message

BACKENDS = ["sqlite"]


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    b = open_backend(f"sqlite:///{tmp_path / 'hub.db'}")
    await b.open()
    yield b
    await b.close()


def msg(flow: str = "f", body: object = None) -> Message:
    return Message(flow=flow, body=body if body is not None else {"n": 1})


async def test_enqueue_lease_settle(backend: Backend) -> None:
    m = msg()
    assert await backend.enqueue([NewWork(m)]) == [m.id]
    assert await backend.pending() == 1
    [item] = await backend.lease("w1", 10, 30)
    assert item.message == m and item.position == 0 and item.attempts == 0
    assert await backend.lease("w2", 10, 30) == [], "a leased item is not handed out twice"
    out = m.model_copy(update={"body": {"n": 2}})
    trace = TraceEntry(m.id, m.correlation_id, "f", 0, "map", "ok", 1, {"n": 1}, {"n": 2})
    assert await backend.settle([Settle(item, [trace], outputs=[NewWork(out, 1)])]) == [True]
    [nxt] = await backend.lease("w1", 10, 30)
    assert nxt.position == 1 and nxt.message.body == {"n": 2}
    assert await backend.settle([Settle(nxt, delivered=1)]) == [True]
    assert await backend.pending() == 0
    [entry] = await backend.trace(m.id)
    assert (entry.stage, entry.input, entry.output) == ("map", {"n": 1}, {"n": 2})
    [counts] = await backend.counts()
    assert (counts.received, counts.delivered, counts.exceptions) == (1, 1, 0)


async def test_expired_lease_comes_back_and_late_settle_is_refused(backend: Backend) -> None:
    await backend.enqueue([NewWork(msg())])
    [first] = await backend.lease("crashed", 1, 0.2)
    await asyncio.sleep(0.3)
    [again] = await backend.lease("w2", 1, 30)
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
    [item] = await backend.lease("w", 1, 30)
    assert await backend.settle([Settle(item, retry_at=time.time() + 0.2)]) == [True]
    assert await backend.lease("w", 1, 30) == [], "not due before retry_at"
    await asyncio.sleep(0.25)
    [item] = await backend.lease("w", 1, 30)
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
    [back] = await backend.lease("w", 1, 30)
    assert back.position == 2 and back.attempts == 0 and back.message.body == {"n": 99}
    assert await backend.exceptions() == []
    assert [e.status for e in await backend.exceptions(status="retried")] == ["retried"]


async def test_discard(backend: Backend) -> None:
    await backend.enqueue([NewWork(msg())])
    [item] = await backend.lease("w", 1, 30)
    await backend.settle([Settle(item, park=True, reason="bad", stage="map")])
    [exc] = await backend.exceptions()
    assert await backend.discard_exception(exc.id)
    assert not await backend.discard_exception(exc.id)
    assert await backend.exceptions() == []


async def test_concurrent_writes_are_grouped_and_all_durable(backend: Backend, tmp_path: Path) -> None:
    messages = [msg(body={"i": i}) for i in range(500)]
    ids = await asyncio.gather(*(backend.enqueue([NewWork(m)]) for m in messages))
    assert sorted(i[0] for i in ids) == sorted(m.id for m in messages)
    await backend.close()
    reopened = open_backend(f"sqlite:///{tmp_path / 'hub.db'}")
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
    [item] = await backend.lease("w", 1, 30)
    split = TraceEntry(child.id, child.correlation_id, "f", 1, "map", "ok", 1)
    await backend.settle([Settle(item, [split])])
    assert [t.message_id for t in await backend.trace(child.id)] == [parent.id, child.id]
    assert [t.message_id for t in await backend.trace(parent.id)] == [parent.id, child.id]
