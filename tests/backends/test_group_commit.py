"""The SQLite writer runs the enqueues that arrive in one turn of the event loop together (one
insert for all of them): each must still get what it would have got alone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from interlace.backends import open_backend
from interlace.backends.base import Backend, NewWork
from interlace.errors import Backpressure
from interlace.message import Message


@pytest.fixture
async def backend(tmp_path: Path) -> AsyncIterator[Backend]:
    b = open_backend(f"sqlite:///{tmp_path / 'hub.db'}")
    await b.open()
    yield b
    await b.close()


async def test_a_bound_admits_exactly_up_to_it_in_order(backend: Backend) -> None:
    messages = [Message(flow="f", body={"n": i}) for i in range(10)]
    results = await asyncio.gather(
        *(backend.enqueue([NewWork(m)], bounds={"f": 6}) for m in messages), return_exceptions=True
    )
    assert results[:6] == [[m.id] for m in messages[:6]]
    assert all(isinstance(r, Backpressure) for r in results[6:]), results[6:]
    assert await backend.pending() == 6
    [counts] = await backend.counts()
    assert counts.received == 6


async def test_one_refused_enqueue_fails_alone(backend: Backend) -> None:
    good = [Message(flow="f", body={"n": i}) for i in range(4)]
    bad = Message(flow="f", body={"n": object()})  # not storable: its JSON cannot be written
    jobs = [backend.enqueue([NewWork(m)]) for m in (*good[:2], bad, *good[2:])]
    results = await asyncio.gather(*jobs, return_exceptions=True)
    assert isinstance(results[2], Exception)
    assert [r for i, r in enumerate(results) if i != 2] == [[m.id] for m in good]
    leased = await backend.lease("w", 10, 30)
    assert sorted(item.message.body["n"] for item in leased) == [0, 1, 2, 3]


async def test_keyed_and_plain_enqueues_side_by_side(backend: Backend) -> None:
    keyed = Message(flow="f", body={"n": "k"})
    first = await backend.enqueue([NewWork(keyed, idempotency_key="f:k1", fingerprint="a")])
    again = Message(flow="f", body={"n": "k"})
    plain = [Message(flow="f", body={"n": i}) for i in range(3)]
    results = await asyncio.gather(
        backend.enqueue([NewWork(plain[0])]),
        backend.enqueue([NewWork(again, idempotency_key="f:k1", fingerprint="a")]),
        backend.enqueue([NewWork(plain[1])]),
        backend.enqueue([NewWork(plain[2])]),
    )
    assert results == [[plain[0].id], first, [plain[1].id], [plain[2].id]]
    assert await backend.pending() == 4


async def test_a_leased_message_is_a_copy_of_no_other_item(backend: Backend) -> None:
    """Two work items with the same stored text never share one Message object (a worker
    changes the body it runs)."""
    m = Message(flow="f", body={"n": 1})
    await backend.enqueue([NewWork(m), NewWork(m, position=1)])
    a, b = await backend.lease("w", 10, 30)
    assert a.message is not b.message
    a.message.body["n"] = 2
    assert b.message.body == {"n": 1}
