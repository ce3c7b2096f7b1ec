"""New messages claimed for the process's own worker (SqliteBackend.claim_arrivals): stored
already leased to it, handed to its lease from memory, and never lost or doubled when a group
fails, the worker falls behind, or the hub stops."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from interlace.backends import open_backend, sqlite
from interlace.backends.base import Backend, NewWork, Settle
from interlace.message import Message


@pytest.fixture
async def backend(tmp_path: Path) -> AsyncIterator[Backend]:
    b = open_backend(f"sqlite:///{tmp_path / 'hub.db'}")
    await b.open()
    b.claim_arrivals("w", 30)
    yield b
    await b.close()


def rows(path: Path) -> list[tuple[int, str, str | None, float]]:
    with sqlite3.connect(path) as conn:
        return [
            (r[0], Message.from_json(r[1]).id, r[2], r[3])
            for r in conn.execute("SELECT id, message, lease_owner, available_at FROM work ORDER BY id")
        ]


async def test_a_new_message_is_stored_leased_and_handed_over_from_memory(backend: Backend, tmp_path: Path) -> None:
    m = Message(flow="f", body={"n": 1})
    before = time.time()
    await backend.enqueue([NewWork(m)])
    [(row_id, message_id, owner, until)] = rows(tmp_path / "hub.db")
    assert (message_id, owner) == (m.id, "w")
    assert before + 30 <= until <= time.time() + 30
    assert await backend.lease("other", 10, 30) == []  # held: no other worker takes it
    [item] = await backend.lease("w", 10, 30)
    assert item.message is m  # not read back from the store
    assert (item.id, item.lease_owner, item.position, item.attempts) == (row_id, "w", 0, 0)
    assert await backend.settle([Settle(item, delivered=1)]) == [True]
    assert await backend.pending() == 0


async def test_claims_follow_the_transaction(backend: Backend, tmp_path: Path) -> None:
    """A refused enqueue in a group claims nothing; the others' claims name their own rows."""
    good = [Message(flow="f", body={"n": i}) for i in range(5)]
    bad = Message(flow="f", body={"n": object()})  # its JSON cannot be written
    keyed = Message(flow="f", body={"n": "k"})
    jobs = [
        *(backend.enqueue([NewWork(m)]) for m in good[:2]),
        backend.enqueue([NewWork(bad)]),
        backend.enqueue([NewWork(keyed, idempotency_key="f:k")]),
        backend.enqueue([NewWork(Message(flow="f", body={}), idempotency_key="f:k")]),  # a repeat: not stored
        *(backend.enqueue([NewWork(m)]) for m in good[2:]),
    ]
    results = await asyncio.gather(*jobs, return_exceptions=True)
    assert isinstance(results[2], Exception)
    assert results[4] == [keyed.id]
    leased = await backend.lease("w", 100, 30)
    assert sorted(i.message.id for i in leased) == sorted(m.id for m in (*good, keyed))
    stored = {row_id: message_id for row_id, message_id, _, _ in rows(tmp_path / "hub.db")}
    assert {i.id: i.message.id for i in leased} == stored


async def test_due_work_in_the_store_is_leased_beside_the_claims(tmp_path: Path, backend: Backend) -> None:
    other = open_backend(f"sqlite:///{tmp_path / 'hub.db'}")  # a process that claims nothing
    await other.open()
    try:
        theirs = Message(flow="f", body={"n": "theirs"})
        await other.enqueue([NewWork(theirs)])
    finally:
        await other.close()
    mine = Message(flow="f", body={"n": "mine"})
    await backend.enqueue([NewWork(mine)])
    leased = await backend.lease("w", 10, 30)
    assert sorted(i.message.id for i in leased) == sorted([theirs.id, mine.id])


async def test_past_the_most_claims_new_messages_are_stored_due(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite, "_MAX_CLAIMS", 2)
    messages = [Message(flow="f", body={"n": i}) for i in range(3)]
    for m in messages:
        await backend.enqueue([NewWork(m)])
    [due] = await backend.lease("other", 10, 30)
    assert due.message.id == messages[2].id
    assert sorted(i.message.id for i in await backend.lease("w", 10, 30)) == sorted(m.id for m in messages[:2])


async def test_a_claim_left_past_half_its_lease_is_let_go_until_the_lease_expires(
    backend: Backend, tmp_path: Path
) -> None:
    m = Message(flow="f", body={"n": 1})
    await backend.enqueue([NewWork(m)])
    assert isinstance(backend, sqlite.SqliteBackend)
    at, item = backend._claims.popleft()
    backend._claims.append((at - 16, item))  # the worker was busy for 16 s of a 30 s lease
    assert await backend.lease("w", 10, 30) == []  # let go, and still leased in the store
    with sqlite3.connect(tmp_path / "hub.db") as conn:  # the claim's lease runs out
        conn.execute("UPDATE work SET available_at = ?", (time.time() - 1,))
    [again] = await backend.lease("w", 10, 30)
    assert again.message.id == m.id and again.message is not m  # read from the store this time


async def test_claims_nobody_took_are_made_due_when_the_store_closes(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    b = open_backend(f"sqlite:///{path}")
    await b.open()
    b.claim_arrivals("w", 30)
    m = Message(flow="f", body={"n": 1})
    await b.enqueue([NewWork(m)])
    await b.close()
    [(_, message_id, owner, until)] = rows(path)
    assert (message_id, owner) == (m.id, None) and until <= time.time()
    again = open_backend(f"sqlite:///{path}")
    await again.open()
    try:
        [item] = await again.lease("next", 10, 30)
        assert item.message.id == m.id
    finally:
        await again.close()


async def test_a_lease_whose_store_read_fails_keeps_the_claims_for_the_next(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert isinstance(backend, sqlite.SqliteBackend)
    m = Message(flow="f", body={"n": 1})
    await backend.enqueue([NewWork(m)])
    run = backend._run

    async def full_disk(op: object, *, durable: bool = False) -> object:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(backend, "_run", full_disk)
    backend._unclaimed = True  # a store lease is due beside the claims
    with pytest.raises(sqlite3.OperationalError):
        await backend.lease("w", 10, 30)
    monkeypatch.setattr(backend, "_run", run)
    [item] = await backend.lease("w", 10, 30)
    assert item.message is m
