"""The SQLite writer runs the enqueues that arrive in one turn of the event loop together (one
insert for all of them): each must still get what it would have got alone. Its thread commits
without waiting for the disk, releases the store's lock, then syncs the log (backends/wal.py): a
new message is answered after that sync. While another process holds the lock, the group waits."""

from __future__ import annotations

import asyncio
import errno
import fcntl
import os
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from interlace.backends import open_backend, wal
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


@pytest.mark.parametrize("claimed", [False, True], ids=["leased", "claimed"])
async def test_a_leased_message_is_a_copy_of_no_other_item(backend: Backend, claimed: bool) -> None:
    """Two work items with the same stored text never share one Message object (a worker
    changes the body it runs), whether leased from the store or claimed (test_claims.py)."""
    if claimed:
        backend.claim_arrivals("w", 30)
    m = Message(flow="f", body={"n": 1})
    await backend.enqueue([NewWork(m), NewWork(m, position=1)])
    a, b = await backend.lease("w", 10, 30)
    assert a.message is not b.message
    a.message.body["n"] = 2
    assert b.message.body == {"n": 1}


# -- the log is synced after the commit, beside the writer (backends/wal.py) --------------------


class HeldSync:
    """`os.fdatasync` as the store's writer thread calls it, held until `release()`."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.calls: list[int] = []
        self.error: OSError | None = None

    def __call__(self, fd: int) -> None:
        self.calls.append(os.fstat(fd).st_ino)
        self.gate.wait(30)
        if self.error is not None:
            raise self.error
        os.fsync(fd)

    def release(self) -> None:
        self.gate.set()


async def turns(n: int = 20) -> None:
    for _ in range(n):
        await asyncio.sleep(0.001)


async def test_a_new_message_is_answered_once_the_log_is_on_the_disk(
    backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = HeldSync()
    monkeypatch.setattr(wal.os, "fdatasync", held)
    m = Message(flow="f", body={"n": 1})
    answer = asyncio.ensure_future(backend.enqueue([NewWork(m)]))
    for _ in range(5000):
        if held.calls:
            break
        await turns(1)
    assert held.calls, "the log was never synced by the store's writer thread"
    await turns()
    assert not answer.done()  # committed (another connection sees it), not yet answered: the log is not synced
    assert await asyncio.to_thread(committed_rows, tmp_path / "hub.db") == 1
    held.release()
    assert await answer == [m.id]
    assert held.calls[0] == os.stat(tmp_path / "hub.db-wal").st_ino  # the log was synced, not another file


async def test_a_failed_sync_fails_the_enqueues_it_held(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = HeldSync()
    held.error = OSError(errno.EIO, "Input/output error")
    held.release()
    monkeypatch.setattr(wal.os, "fdatasync", held)
    with pytest.raises(OSError, match="Input/output error"):
        await backend.enqueue([NewWork(Message(flow="f", body={}))])
    monkeypatch.setattr(wal.os, "fdatasync", os.fsync)
    m = Message(flow="f", body={})
    assert await backend.enqueue([NewWork(m)]) == [m.id]  # the next sync may succeed: the store goes on


def committed_rows(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT count(*) FROM work").fetchone()[0])
    finally:
        conn.close()


async def test_while_another_process_holds_the_lock_the_group_waits_then_runs_on_the_loop(
    backend: Backend, tmp_path: Path
) -> None:
    fd = os.open(f"{tmp_path / 'hub.db'}.lock", os.O_RDWR)  # a lock of its own, as another process has
    fcntl.flock(fd, fcntl.LOCK_EX)
    ran_on: list[int] = []

    def op(conn: sqlite3.Connection) -> int:
        ran_on.append(threading.get_ident())
        return 1

    try:
        first = asyncio.ensure_future(backend.enqueue([NewWork(Message(flow="f", body={"n": 1}))]))
        await turns()
        later = [asyncio.ensure_future(backend._run(op)) for _ in range(3)]  # type: ignore[attr-defined]
        await turns()
        assert not first.done() and not any(f.done() for f in later)
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    assert len(await first) == 1
    assert await asyncio.gather(*later) == [1, 1, 1]
    assert ran_on == [threading.get_ident()] * 3  # on the loop, with what waited beside the first


async def test_a_writer_that_skips_the_lock_file_is_waited_for(backend: Backend, tmp_path: Path) -> None:
    other = sqlite3.connect(tmp_path / "hub.db", isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # SQLite's own write lock, no lock file
    try:
        m = Message(flow="f", body={})
        answer = asyncio.ensure_future(backend.enqueue([NewWork(m)]))
        await turns()
        assert not answer.done()
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert await answer == [m.id]
