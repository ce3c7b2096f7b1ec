"""The embedded backend: one SQLite file in WAL mode holds the queue, traces, exceptions,
idempotency keys and cursors.

All writes go through one writer thread that groups whatever operations are waiting into one
transaction (each in its own savepoint) and commits once: a burst of N messages costs one fsync,
not N. A lease moves an item's `available_at` to the lease's end, so an item whose worker died
simply becomes due again.
"""

from __future__ import annotations

import asyncio
import collections
import fcntl
import json
import logging
import os
import queue
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from interlace.backends.base import (
    Backend,
    ConfigVersion,
    DayCounts,
    ExceptionRecord,
    FieldSource,
    FlowCounts,
    GoldenChange,
    GoldenRecord,
    GoldenWrite,
    NewTask,
    NewWork,
    Notice,
    ParkedException,
    Settle,
    TaskDecision,
    TaskEscalation,
    TaskRecord,
    TraceEntry,
    WorkItem,
)
from interlace.backends.stored import GOLDEN_COLUMNS, correlation_of, dump, load, record_data
from interlace.backends.tasks import TASK_COLUMNS, created_line, decided, escalated, reminders, task_record
from interlace.backends.wal import Checkpointer, LogSync
from interlace.errors import Backpressure, IdempotencyConflict
from interlace.message import Message
from interlace.observability.redaction import stored_text
from interlace.types import JSON

log = logging.getLogger("interlace.store")

T = TypeVar("T")
Op = Callable[[sqlite3.Connection], Any]

SCHEMA = """
CREATE TABLE IF NOT EXISTS work (
    id INTEGER PRIMARY KEY,
    flow TEXT NOT NULL,
    position INTEGER NOT NULL,
    message TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    available_at REAL NOT NULL,
    lease_owner TEXT
);
CREATE INDEX IF NOT EXISTS work_due ON work (available_at);
CREATE TABLE IF NOT EXISTS trace (
    id INTEGER PRIMARY KEY,
    correlation_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    flow TEXT NOT NULL,
    position INTEGER NOT NULL,
    stage TEXT NOT NULL,
    status TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    input TEXT,
    output TEXT,
    error TEXT,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS trace_correlation ON trace (correlation_id);
CREATE TABLE IF NOT EXISTS exceptions (
    id INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL,
    flow TEXT NOT NULL,
    position INTEGER NOT NULL,
    stage TEXT NOT NULL,
    owner TEXT,
    reason TEXT NOT NULL,
    message TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',
    created_at REAL NOT NULL,
    resolved_at REAL
);
CREATE INDEX IF NOT EXISTS exceptions_status ON exceptions (status, owner);
CREATE TABLE IF NOT EXISTS idempotency (key TEXT PRIMARY KEY, message_id TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS cursors (name TEXT PRIMARY KEY, value TEXT, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS flow_counts (
    flow TEXT PRIMARY KEY,
    received INTEGER NOT NULL DEFAULT 0,
    delivered INTEGER NOT NULL DEFAULT 0,
    exceptions INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS golden (
    entity TEXT NOT NULL,
    key TEXT NOT NULL,
    version INTEGER NOT NULL,
    status TEXT NOT NULL,
    data TEXT NOT NULL,
    merged_into TEXT,
    updated_at REAL NOT NULL,
    PRIMARY KEY (entity, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS golden_history (
    id INTEGER PRIMARY KEY,
    entity TEXT NOT NULL,
    key TEXT NOT NULL,
    change_id TEXT NOT NULL,
    system TEXT NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS golden_history_change ON golden_history (entity, change_id);
CREATE INDEX IF NOT EXISTS golden_history_key ON golden_history (entity, key);
CREATE TABLE IF NOT EXISTS golden_held (exception_id INTEGER PRIMARY KEY, entity TEXT NOT NULL, key TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS golden_held_key ON golden_held (entity, key);
"""

TASKS_SCHEMA = """
CREATE TABLE tasks (
    id INTEGER PRIMARY KEY,
    flow TEXT NOT NULL,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    message_id TEXT NOT NULL,
    message TEXT NOT NULL,
    owner TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',
    level INTEGER NOT NULL DEFAULT 0,
    due_at REAL,
    reject_owner TEXT,
    created_at REAL NOT NULL,
    overdue_since REAL,
    decided_by TEXT,
    decided_at REAL,
    history TEXT NOT NULL
);
CREATE INDEX tasks_status ON tasks (status, owner);
CREATE INDEX tasks_due ON tasks (due_at) WHERE status = 'open';
CREATE INDEX tasks_message ON tasks (message_id);
"""

MIGRATIONS: list[str] = [
    SCHEMA,  # version 1: the store as first released
    # version 2: a fingerprint of the body beside each idempotency key (a key reused with another
    # body is refused, not silently answered with the first message); each flow's backlog kept
    # by triggers, so that flow control reads one row instead of counting the queue
    """
    ALTER TABLE idempotency ADD COLUMN fingerprint TEXT;
    CREATE TABLE backlog (flow TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
    INSERT INTO backlog (flow, n) SELECT flow, count(*) FROM work GROUP BY flow;
    CREATE TRIGGER work_added AFTER INSERT ON work BEGIN
        INSERT INTO backlog (flow, n) VALUES (new.flow, 1) ON CONFLICT (flow) DO UPDATE SET n = n + 1;
    END;
    CREATE TRIGGER work_removed AFTER DELETE ON work BEGIN
        UPDATE backlog SET n = n - 1 WHERE flow = old.flow;
    END;
    """,
    # version 3: the counts of each flow per UTC day (what `interlace gain` reports), kept by
    # triggers on flow_counts so that no write path changes; days start with this version
    """
    CREATE TABLE flow_days (
        flow TEXT NOT NULL,
        day TEXT NOT NULL,
        received INTEGER NOT NULL DEFAULT 0,
        delivered INTEGER NOT NULL DEFAULT 0,
        exceptions INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (flow, day)
    ) WITHOUT ROWID;
    CREATE TRIGGER flow_counts_added AFTER INSERT ON flow_counts BEGIN
        INSERT INTO flow_days (flow, day, received, delivered, exceptions)
        VALUES (new.flow, date('now'), new.received, new.delivered, new.exceptions)
        ON CONFLICT (flow, day) DO UPDATE SET received = received + excluded.received,
            delivered = delivered + excluded.delivered, exceptions = exceptions + excluded.exceptions;
    END;
    CREATE TRIGGER flow_counts_changed AFTER UPDATE ON flow_counts BEGIN
        INSERT INTO flow_days (flow, day, received, delivered, exceptions)
        VALUES (new.flow, date('now'), new.received - old.received, new.delivered - old.delivered,
                new.exceptions - old.exceptions)
        ON CONFLICT (flow, day) DO UPDATE SET received = received + excluded.received,
            delivered = delivered + excluded.delivered, exceptions = exceptions + excluded.exceptions;
    END;
    """,
    # version 4: the owners' notices (notify/): a tally of each owner's exceptions parked since
    # their last digest, kept by a trigger when an exception is parked, and the outbox of digests
    """
    CREATE TABLE notice_pending (
        owner TEXT PRIMARY KEY,
        first_id INTEGER NOT NULL,
        last_id INTEGER NOT NULL,
        count INTEGER NOT NULL,
        first_at REAL NOT NULL
    ) WITHOUT ROWID;
    CREATE TRIGGER exception_parked AFTER INSERT ON exceptions WHEN new.owner IS NOT NULL BEGIN
        INSERT INTO notice_pending (owner, first_id, last_id, count, first_at)
        VALUES (new.owner, new.id, new.id, 1, new.created_at)
        ON CONFLICT (owner) DO UPDATE SET last_id = excluded.last_id, count = count + 1;
    END;
    CREATE TABLE notices (
        id INTEGER PRIMARY KEY,
        owner TEXT NOT NULL,
        channel TEXT NOT NULL,
        target TEXT NOT NULL,
        digest TEXT NOT NULL,
        created_at REAL NOT NULL,
        due_at REAL NOT NULL,
        claimed_until REAL,
        attempts INTEGER NOT NULL DEFAULT 0,
        sent_at REAL,
        error TEXT
    );
    CREATE INDEX notices_unsent ON notices (due_at) WHERE sent_at IS NULL;
    """,
    # version 5: the cluster's records: leader leases (one process runs the schedules and
    # pollers) and published config versions (`interlace reload` reaches every process)
    """
    CREATE TABLE leaders (name TEXT PRIMARY KEY, holder TEXT NOT NULL, until REAL NOT NULL) WITHOUT ROWID;
    CREATE TABLE config_versions (
        version INTEGER PRIMARY KEY,
        hash TEXT NOT NULL,
        text TEXT NOT NULL,
        published_by TEXT NOT NULL,
        at REAL NOT NULL
    );
    """,
    # version 6: human tasks (engine/tasks.py): messages waiting for a person's decision, with
    # their owner, deadline and history
    TASKS_SCHEMA,
]
"""The store's schema, one entry per version; `PRAGMA user_version` says which ran. A store is
brought up to date when it opens, each step in its own transaction; a store written by a newer
Interlace is refused rather than guessed at."""

SCHEMA_VERSION = len(MIGRATIONS)

_MAX_GROUP = 1000

_KEEP_ARRIVED = 4096
"""New messages kept in memory (by their stored text) for the lease that takes them next."""

_MAX_CLAIMS = 512
"""New messages claimed for this process's worker and not yet handed to it, at most (past it,
new messages are stored due, for any process to lease)."""

_STORE_LEASE_EVERY = 0.05
"""Seconds between the store leases a worker living on claims still runs: for work that came
due otherwise (another process's, a retry, a lease that expired)."""


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the store at `path` up to SCHEMA_VERSION, one transaction per step."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version == 0 and conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'work'").fetchone():
        version = 1  # a store from before versions were recorded: it has the first schema
    if version > SCHEMA_VERSION:
        raise RuntimeError(
            f"{path}: the store is at schema version {version}, newer than this Interlace knows"
            f" ({SCHEMA_VERSION}); run the Interlace that wrote it, or a newer one"
        )
    for number in range(version + 1, SCHEMA_VERSION + 1):
        try:  # the connection is in autocommit mode: executescript adds no COMMIT of its own
            conn.executescript(f"BEGIN IMMEDIATE; {MIGRATIONS[number - 1]}; PRAGMA user_version = {number}; COMMIT;")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


def _record(entity: str, key: str, version: int, status: Any, data: str, merged_into: str | None,
            updated_at: float) -> GoldenRecord:  # fmt: skip
    d = json.loads(data)
    provenance = {f: FieldSource(*p) for f, p in d["provenance"].items()}
    return GoldenRecord(
        entity, key, d["values"], provenance, d["sent"], status, version, merged_into, updated_at, d.get("seen", {})
    )




class _Enqueue:
    """An enqueue waiting for the writer (a plain one, with no idempotency key and no cursor, can
    be run together with its neighbours: see SqliteBackend._run_enqueues)."""

    __slots__ = ("backend", "bounds", "cursor", "plain", "traces", "work")

    def __init__(
        self,
        backend: SqliteBackend,
        work: Sequence[NewWork],
        cursor: tuple[str, JSON] | None,
        traces: Sequence[TraceEntry],
        bounds: Mapping[str, int] | None,
    ) -> None:
        self.backend = backend
        self.work = work
        self.cursor = cursor
        self.traces = traces
        self.bounds = bounds
        self.plain = cursor is None and all(w.idempotency_key is None for w in work)

    def __call__(self, conn: sqlite3.Connection) -> list[str]:
        return self.backend._enqueue(conn, self)


_Waiting = tuple[Op, "asyncio.Future[Any]", bool]
"""An operation waiting for the writer, its future, and whether it must be durable."""
_Result = tuple["asyncio.Future[Any]", Any, BaseException | None]
_Job = tuple[str, list[_Waiting], list[_Result], bool]
"""For the writer thread: ("sync", group, results, wake) once the loop committed a group that
must reach the disk before it is answered; ("wait", group, [], False) for a group that waits
for the store's lock, which the thread then hands to the loop; ("whole", group, [], False) for
a group it must run itself (a writer that skips the lock file holds SQLite's own lock: only the
thread may wait for that)."""


def _plain(op: Op) -> bool:
    return isinstance(op, _Enqueue) and op.plain


class SqliteBackend(Backend):
    def __init__(self, path: Path, *, durable: str = "full") -> None:
        self.path = path
        self.durable = durable
        self.on_new_work: Callable[[], None] | None = None
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._outbox: list[_Waiting] = []
        self._committing = False
        self._idle = asyncio.Event()
        self._conn: sqlite3.Connection | None = None
        self._lock_fd = -1
        self._arrived: dict[str, Message | None] = {}
        self._claimer: tuple[str, float] | None = None
        self._claims: collections.deque[tuple[float, WorkItem]] = collections.deque()
        self._staged: list[tuple[float, WorkItem]] = []  # claims of the group running now
        self._unclaimed = True  # due work may be in the store that no claim holds
        self._store_leased = 0.0  # monotonic time of the last store lease
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = False
        self._reader: sqlite3.Connection | None = None
        self.backlog_seen = {}
        self._reader_lock = threading.Lock()
        self._checkpoints: Checkpointer | None = None
        self._log: LogSync | None = None

    # -- the writer ----------------------------------------------------------------------
    # Writes are grouped: whatever operations wait when the previous group is done run as one
    # transaction, each in its own savepoint, with one COMMIT for all of them. Their statements
    # run here on the event loop, where the rest of the hub's Python runs: in a thread of their
    # own they would wait for the interpreter lock at every statement while the loop is busy.
    # The loop COMMITs too, without waiting for the disk (synchronous=NORMAL), and releases the
    # store's lock; the writer thread then syncs the log when the group holds what a sender must
    # know is stored (new messages, an owner's retry; backends/wal.py): other processes on the
    # store write while the disk does. The lock is held only while the loop runs the group: a
    # hand-off to a thread inside it would wait for a core (both are busy under load) and for
    # the interpreter lock. The next group starts when this one is answered. A group that
    # cannot take the store's lock at once (another process writes) waits for it in the thread.
    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._loop = asyncio.get_running_loop()
        await asyncio.to_thread(self._create_schema)
        self._conn = self._connect()
        self._conn.execute("PRAGMA synchronous=NORMAL")  # the writer thread syncs the log after the lock
        self._conn.execute("PRAGMA busy_timeout=0")  # the loop never waits for a lock: see _start
        self._conn.execute("PRAGMA wal_autocheckpoint=0")  # the checkpointer's thread does it
        self._checkpoints = Checkpointer(self._connect)
        if self.durable == "full":
            self._log = LogSync(self.path)
        # Writers of several processes (`run --processes N`, a CLI retry beside a running hub)
        # queue on a file lock, woken the moment it is free; SQLite's own busy handler would
        # sleep and poll, up to 100 ms at a time, which is what a p99 latency shows first.
        self._lock_fd = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        self._thread = threading.Thread(target=self._writer, name=f"sqlite-write:{self.path.name}", daemon=True)
        self._thread.start()

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _create_schema(self) -> None:
        conn = self._connect()
        try:
            migrate(conn, self.path)
        finally:
            conn.close()

    async def close(self) -> None:
        if self._thread is not None:
            await self._release_claims()
            while self._committing or self._outbox:
                self._idle.clear()
                if not self._committing:
                    self._start()
                await self._idle.wait()
            self._queue.put(None)
            await asyncio.to_thread(self._thread.join)
            self._thread = None
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._checkpoints is not None:
            await asyncio.to_thread(self._checkpoints.stop)
            self._checkpoints = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None
            os.close(self._lock_fd)
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={'FULL' if self.durable == 'full' else 'NORMAL'}")
        conn.execute("PRAGMA busy_timeout=30000")
        # a savepoint's journal (every operation of a group runs in one) kept in memory: on the
        # disk it is a new temporary file per group, written page by page and never read back
        conn.execute("PRAGMA temp_store=MEMORY")
        return conn

    async def _run(self, op: Callable[[sqlite3.Connection], T], *, durable: bool = False) -> T:
        """Run `op` in the next group's transaction; `durable`: on the disk before this returns."""
        if self._thread is None or self._loop is None:
            raise RuntimeError("backend is not open")
        fut: asyncio.Future[T] = self._loop.create_future()
        self._outbox.append((op, fut, durable))
        if len(self._outbox) == 1 and not self._committing:
            self._loop.call_soon(self._start)  # at the end of this turn: what else arrives in it joins
        return await fut

    def _start(self) -> None:
        """Run the waiting operations as one group, unless the last one is still on its way."""
        if self._committing or not self._outbox:
            return
        group, self._outbox = self._outbox[:_MAX_GROUP], self._outbox[_MAX_GROUP:]
        self._committing = True
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # another process writes: the thread waits for the lock
            self._queue.put(("wait", group, [], False))
            return
        self._locked(group)

    def _locked(self, group: list[_Waiting]) -> None:
        """Run `group`'s statements and its COMMIT on the loop, the store's lock held (handed to
        the thread, they would wait for a core and the interpreter lock with the lock held);
        what joined the outbox while the lock was awaited runs in the group too. The log's sync
        is the thread's."""
        conn = self._conn
        assert conn is not None
        if self._outbox and len(group) < _MAX_GROUP:
            room = _MAX_GROUP - len(group)
            group, self._outbox = group + self._outbox[:room], self._outbox[room:]
        try:
            self._begin(conn)
        except sqlite3.OperationalError:  # SQLite's lock is taken by a writer that skips the lock file
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            self._queue.put(("whole", group, [], False))
            return
        try:
            results = self._statements(conn, group)
        except Exception as exc:  # not the store's own error (those fail the group in _statements)
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self._staged = []
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            self._finish(group, [(fut, None, exc) for _, fut, _ in group], False)
            return
        results, wake = self._commit(conn, group, results)
        if self._must_sync(group, results):
            self._queue.put(("sync", group, results, wake))
        else:  # at the loop's next turn: a chain of groups never nests
            assert self._loop is not None
            self._loop.call_soon(self._finish, group, results, wake)

    def _commit(
        self, conn: sqlite3.Connection, group: list[_Waiting], results: list[_Result]
    ) -> tuple[list[_Result], bool]:
        """COMMIT without waiting for the disk (synchronous=NORMAL) and release the store's lock:
        the results and whether new work is to be woken, or every operation failed with the
        COMMIT's error (nothing of the group is stored then)."""
        wake = self._wake
        staged, self._staged = self._staged, []
        try:
            if conn.in_transaction:
                conn.execute("COMMIT")
                if self._checkpoints is not None:
                    self._checkpoints.committed()
            self._claims.extend(staged)
        except Exception as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            results, wake = [(fut, None, exc) for _, fut, _ in group], False
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)  # released before the disk is waited for
        return results, wake

    def _must_sync(self, group: list[_Waiting], results: list[_Result]) -> bool:
        """The group holds a durable operation that succeeded: its sender waits for the disk."""
        return self._log is not None and any(d for _, _, d in group) and any(r[2] is None for r in results)

    def _writer(self) -> None:
        """The writer thread: syncs the log for a group the loop committed and hands its results
        back to the loop. While another process holds the store's lock it waits for it, then
        hands it to the loop, which runs the group. A writer that skips the lock file (holding
        SQLite's own lock) gets the group run here whole, with a busy timeout."""
        conn = self._conn
        assert conn is not None and self._loop is not None
        while True:
            job = self._queue.get()
            if job is None:
                return
            kind, group, results, wake = job
            if kind == "wait":
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
                self._loop.call_soon_threadsafe(self._locked, group)
                continue
            if kind == "whole":
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
                conn.execute("PRAGMA busy_timeout=30000")
                try:
                    results = self._statements(conn, group)
                finally:
                    conn.execute("PRAGMA busy_timeout=0")
                results, wake = self._commit(conn, group, results)
                if not self._must_sync(group, results):
                    self._loop.call_soon_threadsafe(self._finish, group, results, wake)
                    continue
            error: OSError | None = None
            assert self._log is not None
            try:
                self._log.sync()
            except OSError as exc:
                log.error("the store's log could not be synced to the disk: %s", exc)
                error = exc
            self._loop.call_soon_threadsafe(self._finish, group, results, wake, error)

    def _statements(
        self, conn: sqlite3.Connection, group: list[_Waiting]
    ) -> list[_Result]:
        """BEGIN, then each operation of `group` (its results, or its error), all but COMMIT.
        A failure of the transaction itself fails every operation and leaves none in it."""
        results: list[_Result] = []
        self._wake = False
        self._staged = []
        try:
            self._begin(conn)
            start = 0
            while start < len(group):
                end = start
                while end < len(group) and _plain(group[end][0]):
                    end += 1
                if end - start > 1:  # plain enqueues side by side: one statement each for all of them
                    self._run_enqueues(conn, group[start:end], results)
                    start = end
                    continue
                op, fut, _ = group[start]
                results.append((fut, *self._run_one(conn, op)))
                start += 1
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self._wake = False
            self._staged = []
            return [(fut, None, exc) for _, fut, _ in group]
        return results

    @staticmethod
    def _begin(conn: sqlite3.Connection) -> None:
        if not conn.in_transaction:
            conn.execute("BEGIN IMMEDIATE")

    def _finish(
        self, group: list[_Waiting], results: list[_Result], wake: bool, error: OSError | None = None
    ) -> None:
        """Answer a group; `error`: its log could not be synced, so what its durable operations
        wrote may not be on the disk (they fail with it; a lease or a settle lost to a power cut
        is simply run again, and a process crash loses no committed transaction either way)."""
        self._committing = False
        if error is not None:
            durable = {fut for _, fut, d in group if d}
            results = [(fut, None, error) if fut in durable and exc is None else (fut, value, exc)
                       for fut, value, exc in results]  # fmt: skip
        self._resolve(results, wake)
        if self._outbox:
            self._start()
        else:
            self._idle.set()

    def _run_one(self, conn: sqlite3.Connection, op: Op) -> tuple[Any, BaseException | None]:
        """`op` in a savepoint of its own: its failure undoes only its own writes (and claims)."""
        conn.execute("SAVEPOINT op")
        staged = len(self._staged)
        try:
            value = op(conn)
        except Exception as exc:
            conn.execute("ROLLBACK TO op")
            del self._staged[staged:]
            return None, exc
        finally:
            conn.execute("RELEASE op")
        return value, None

    def _run_enqueues(
        self,
        conn: sqlite3.Connection,
        ops: list[_Waiting],
        results: list[_Result],
    ) -> None:
        """Several plain enqueues (no idempotency key, no cursor) as one: the bounds checked in
        order against one read of the backlog, then one insert of all their work items, traces
        and counts. Their outcomes are what running them one by one would give."""
        now = time.time()
        pending: dict[str, int] = {}
        accepted: list[_Enqueue] = []
        answers: list[_Result] = []
        for op, fut, _ in ops:
            assert isinstance(op, _Enqueue)
            try:
                if op.bounds:
                    work = op.work  # most often one message (a webhook's request): no Counter to build
                    adding = {work[0].message.flow: 1} if len(work) == 1 else Counter(w.message.flow for w in work)
                    for flow in adding:
                        if flow in op.bounds and flow not in pending:
                            pending[flow] = self._backlog_of(conn, flow)
                    self._admit(adding, op.bounds, pending)
            except Backpressure as exc:
                answers.append((fut, None, exc))
                continue
            accepted.append(op)
            answers.append((fut, [w.message.id for w in op.work], None))
        conn.execute("SAVEPOINT batch")
        staged = len(self._staged)
        try:
            work = [w for op in accepted for w in op.work]
            self._insert_work(conn, work, now, arrived=True)
            self._insert_traces(conn, [t for op in accepted for t in op.traces])
            for flow, n in Counter(w.message.flow for w in work).items():
                self._count(conn, flow, "received", n)
        except Exception:  # one of them is refused: run each on its own, to refuse only that one
            conn.execute("ROLLBACK TO batch")
            conn.execute("RELEASE batch")
            del self._staged[staged:]
            for op, fut, _ in ops:
                results.append((fut, *self._run_one(conn, op)))
            return
        conn.execute("RELEASE batch")
        results.extend(answers)

    def _backlog_of(self, conn: sqlite3.Connection, flow: str) -> int:
        row = conn.execute("SELECT n FROM backlog WHERE flow = ?", (flow,)).fetchone()
        pending = int(row[0]) if row is not None else 0
        self.backlog_seen[flow] = pending
        return pending

    @staticmethod
    def _admit(adding: Mapping[str, int], bounds: Mapping[str, int], pending: dict[str, int]) -> None:
        """Count `adding` into `pending`, or raise Backpressure (counting nothing) when a flow
        would pass its bound."""
        for flow, n in adding.items():
            bound = bounds.get(flow)
            if bound is not None and pending[flow] + n > bound:
                raise Backpressure(flow, pending[flow], bound)
        for flow, n in adding.items():
            if flow in pending:
                pending[flow] += n

    def _resolve(self, results: list[_Result], wake: bool) -> None:
        for fut, value, exc in results:
            if fut.done():
                continue
            if exc is not None:
                fut.set_exception(exc)
            else:
                fut.set_result(value)
        if wake and self.on_new_work is not None:
            self.on_new_work()

    def _read(self, op: Callable[[sqlite3.Connection], T]) -> T:
        """Run a read on a connection of its own (WAL: readers never wait for the writer)."""
        with self._reader_lock:
            if self._reader is None:
                self._reader = self._connect()
            return op(self._reader)

    # -- writes ------------------------------------------------------------------------
    def _insert_work(
        self, conn: sqlite3.Connection, work: Sequence[NewWork], now: float, *, arrived: bool = False
    ) -> None:
        """`arrived`: messages that just came in, which nobody else holds: kept in memory by their
        stored text, so that leasing them here needs no parsing (see `lease`)."""
        if not work:
            return
        self._wake = True
        if arrived and self._claimer is not None and self._claim(conn, work, now, *self._claimer):
            return
        self._unclaimed = True
        rows = [
            (w.message.flow, w.position, w.message.to_json(), w.attempts, max(w.available_at, 0.0))
            for w in work
        ]
        conn.executemany(
            "INSERT INTO work (flow, position, message, attempts, available_at) VALUES (?, ?, ?, ?, ?)", rows
        )
        if arrived:
            kept = self._arrived
            for w, row in zip(work, rows, strict=True):
                kept[row[2]] = w.message
            while len(kept) > _KEEP_ARRIVED:  # leased by another process, or not yet: parsed then
                del kept[next(iter(kept))]

    def _claim(self, conn: sqlite3.Connection, work: Sequence[NewWork], now: float, owner: str, seconds: float) -> bool:
        """Store new messages already leased to this process's worker (`claim_arrivals`), and
        stage them for its next lease, which takes them from memory: no lease statement, no
        parsing. False (nothing stored) when there is no room for all of them, or one is due
        later."""
        if len(self._claims) + len(self._staged) + len(work) > _MAX_CLAIMS or any(w.available_at > now for w in work):
            return False
        until = now + seconds
        rows = [(w.message.flow, w.position, w.message.to_json(), w.attempts, until, owner) for w in work]
        conn.executemany(
            "INSERT INTO work (flow, position, message, attempts, available_at, lease_owner) VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
        # the rows' ids: an INTEGER PRIMARY KEY is one past the largest at each insert, and no
        # other writer runs while this transaction holds the store's lock
        first = int(conn.execute("SELECT last_insert_rowid()").fetchone()[0]) - len(rows) + 1
        seen: set[int] = set()
        for i, w in enumerate(work):
            msg = w.message
            if id(msg) in seen:  # one message at two positions: each item runs a copy of its own
                msg = Message.from_json(rows[i][2])
            seen.add(id(msg))
            self._staged.append((now, WorkItem(first + i, msg, w.position, w.attempts, owner)))
        return True

    def claim_arrivals(self, owner: str, seconds: float) -> None:
        self._claimer = (owner, seconds)

    @staticmethod
    def _insert_traces(conn: sqlite3.Connection, traces: Sequence[TraceEntry]) -> None:
        if not traces:
            return
        conn.executemany(
            "INSERT INTO trace (correlation_id, message_id, flow, position, stage, status, attempt,"
            " input, output, error, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    t.correlation_id,
                    t.message_id,
                    t.flow,
                    t.position,
                    t.stage,
                    t.status,
                    t.attempt,
                    dump(t.input),
                    dump(t.output),
                    t.error,
                    t.at or time.time(),
                )
                for t in traces
            ],
        )

    @staticmethod
    def _store_cursor(conn: sqlite3.Connection, cursor: tuple[str, JSON] | None, now: float) -> None:
        if cursor is not None:
            conn.execute(
                "INSERT INTO cursors (name, value, at) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET value = excluded.value, at = excluded.at",
                (cursor[0], dump(cursor[1]), now),
            )

    @staticmethod
    def _count(conn: sqlite3.Connection, flow: str, column: str, n: int = 1) -> None:
        conn.execute(
            f"INSERT INTO flow_counts (flow, {column}) VALUES (?, ?)"
            f" ON CONFLICT (flow) DO UPDATE SET {column} = {column} + excluded.{column}",
            (flow, n),
        )

    async def enqueue(
        self,
        work: Sequence[NewWork],
        *,
        cursor: tuple[str, JSON] | None = None,
        traces: Sequence[TraceEntry] = (),
        bounds: Mapping[str, int] | None = None,
    ) -> list[str]:
        return await self._run(_Enqueue(self, work, cursor, traces, bounds), durable=True)

    def _enqueue(self, conn: sqlite3.Connection, op: _Enqueue) -> list[str]:
        now = time.time()
        ids: list[str] = []
        fresh: list[NewWork] = []
        for w in op.work:
            if w.idempotency_key is not None:
                cur = conn.execute(
                    "INSERT OR IGNORE INTO idempotency (key, message_id, at, fingerprint) VALUES (?, ?, ?, ?)",
                    (w.idempotency_key, w.message.id, now, w.fingerprint),
                )
                if cur.rowcount == 0:
                    row = conn.execute(
                        "SELECT message_id, fingerprint FROM idempotency WHERE key = ?", (w.idempotency_key,)
                    ).fetchone()
                    if w.fingerprint is not None and row[1] is not None and row[1] != w.fingerprint:
                        raise IdempotencyConflict(w.idempotency_key, row[0])
                    ids.append(row[0])
                    continue
            ids.append(w.message.id)
            fresh.append(w)
        if op.bounds:
            adding = Counter(w.message.flow for w in fresh)
            pending = {flow: self._backlog_of(conn, flow) for flow in adding if flow in op.bounds}
            self._admit(adding, op.bounds, pending)
        self._insert_work(conn, fresh, now, arrived=True)
        fresh_ids = {w.message.id for w in fresh}
        self._insert_traces(conn, [t for t in op.traces if t.message_id in fresh_ids])
        for flow, n in Counter(w.message.flow for w in fresh).items():
            self._count(conn, flow, "received", n)
        self._store_cursor(conn, op.cursor, now)
        return ids

    async def lease(self, owner: str, limit: int, seconds: float) -> list[WorkItem]:
        taken = self._take_claims(owner, limit)
        claimed = [item for _, item in taken]
        if claimed and (
            len(claimed) == limit
            or (not self._unclaimed and time.monotonic() - self._store_leased < _STORE_LEASE_EVERY)
        ):
            return claimed
        self._unclaimed = False
        self._store_leased = time.monotonic()
        limit -= len(claimed)

        def op(conn: sqlite3.Connection) -> list[WorkItem]:
            now = time.time()
            rows = conn.execute(
                "UPDATE work SET lease_owner = ?, available_at = ? WHERE id IN"
                " (SELECT id FROM work WHERE available_at <= ? ORDER BY available_at LIMIT ?)"
                " RETURNING id, message, position, attempts",
                (owner, now + seconds, now, limit),
            ).fetchall()
            if len(rows) == limit:  # more may be due
                self._unclaimed = True
            kept = self._arrived
            return [
                WorkItem(r[0], kept.pop(r[1], None) or Message.from_json(r[1]), r[2], r[3], owner)
                for r in rows
            ]

        try:
            return claimed + await self._run(op)
        except BaseException:  # the claims are still this worker's: the next lease hands them over
            self._claims.extendleft(reversed(taken))
            raise

    def _take_claims(self, owner: str, limit: int) -> list[tuple[float, WorkItem]]:
        """Up to `limit` of the new messages claimed for `owner`, oldest first. A claim waiting
        past half its lease is let go: its row is leased from the store once the lease expires
        (the worker was busy that long; its heartbeat only keeps what it holds)."""
        claims = self._claims
        if not claims or self._claimer is None or self._claimer[0] != owner:
            return []
        fresh = time.time() - self._claimer[1] / 2
        taken: list[tuple[float, WorkItem]] = []
        while claims and len(taken) < limit:
            claim = claims.popleft()
            if claim[0] >= fresh:
                taken.append(claim)
        return taken

    async def _release_claims(self) -> None:
        """Make the claims no worker took due again (the hub stops): any process leases them."""
        if not self._claims:
            return
        ids = [(item.id, item.lease_owner) for _, item in self._claims]
        self._claims.clear()

        def op(conn: sqlite3.Connection) -> None:
            now = time.time()
            conn.executemany(
                "UPDATE work SET available_at = ?, lease_owner = NULL WHERE id = ? AND lease_owner = ?",
                [(now, item_id, owner) for item_id, owner in ids],
            )

        await self._run(op)

    async def extend(self, owner: str, ids: Sequence[int], seconds: float) -> None:
        def op(conn: sqlite3.Connection) -> None:
            until = time.time() + seconds
            conn.executemany(
                "UPDATE work SET available_at = ? WHERE id = ? AND lease_owner = ?",
                [(until, item_id, owner) for item_id in ids],
            )

        await self._run(op)

    async def settle(self, outcomes: Sequence[Settle]) -> list[bool]:
        def op(conn: sqlite3.Connection) -> list[bool]:
            now = time.time()
            held = self._held(conn, outcomes)
            done: list[bool] = []
            counts: Counter[tuple[str, str]] = Counter()
            acked: list[tuple[int]] = []
            retried: list[tuple[float, int]] = []
            outputs: list[NewWork] = []
            traces: list[TraceEntry] = []
            for s in outcomes:
                if held.get(s.item.id) != s.item.lease_owner:
                    done.append(False)
                    continue
                flow = s.item.message.flow
                if s.golden:
                    fresh, todo = self._check_golden(conn, s.golden)
                    if not fresh:  # another change of the record came first: run again on the new one
                        conn.execute(
                            "UPDATE work SET available_at = ?, lease_owner = NULL WHERE id = ?", (now, s.item.id)
                        )
                        self._wake = self._unclaimed = True
                        done.append(False)
                        continue
                    if not todo:  # this change was applied before: its effects are already stored
                        acked.append((s.item.id,))
                        done.append(True)
                        continue
                    self._apply_golden(conn, todo, now)
                if s.retry_at is not None:
                    retried.append((s.retry_at, s.item.id))
                else:
                    acked.append((s.item.id,))
                if s.park:
                    msg = s.message or s.item.message
                    position = s.position if s.position is not None else s.item.position
                    self._park(conn, ParkedException(msg, position, s.stage or "", s.owner, s.reason or "failed"), now)
                    counts[flow, "exceptions"] += 1
                for parked in s.exceptions:
                    self._park(conn, parked, now)
                    counts[parked.message.flow, "exceptions"] += 1
                if s.tasks:
                    self._add_tasks(conn, s.tasks, now)
                outputs.extend(s.outputs)
                traces.extend(s.traces)
                counts[flow, "delivered"] += s.delivered
                done.append(True)
            if acked:
                conn.executemany("DELETE FROM work WHERE id = ?", acked)
            if retried:
                conn.executemany(
                    "UPDATE work SET attempts = attempts + 1, available_at = ?, lease_owner = NULL WHERE id = ?",
                    retried,
                )
            self._insert_work(conn, outputs, now)
            self._insert_traces(conn, traces)
            for (flow, column), n in counts.items():
                if n:
                    self._count(conn, flow, column, n)
            return done

        return await self._run(op)

    @staticmethod
    def _held(conn: sqlite3.Connection, outcomes: Sequence[Settle]) -> dict[int, str | None]:
        """The current lease owner of each outcome's item (absent: the item is gone)."""
        ids = [s.item.id for s in outcomes]
        held: dict[int, str | None] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            held.update(conn.execute(f"SELECT id, lease_owner FROM work WHERE id IN ({marks})", chunk).fetchall())
        return held

    @staticmethod
    def _park(conn: sqlite3.Connection, p: ParkedException, now: float) -> None:
        msg = p.message
        cur = conn.execute(
            "INSERT INTO exceptions (message_id, flow, position, stage, owner, reason, message,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (msg.id, msg.flow, p.position, p.stage, p.owner, p.reason, msg.to_json(), now),
        )
        if p.hold is not None:
            conn.execute(
                "INSERT INTO golden_held (exception_id, entity, key) VALUES (?, ?, ?)", (cur.lastrowid, *p.hold)
            )

    # -- human tasks -------------------------------------------------------------------
    @staticmethod
    def _add_tasks(conn: sqlite3.Connection, tasks: Sequence[NewTask], now: float) -> None:
        conn.executemany(
            "INSERT INTO tasks (flow, position, name, message_id, message, owner, due_at, reject_owner, created_at,"
            " history) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(t.message.flow, t.position, t.name, t.message.id, t.message.to_json(), t.owner, t.due_at,
              t.reject_owner, t.created_at or now, created_line(t.owner, t.created_at or now)) for t in tasks],
        )  # fmt: skip

    async def tasks(
        self,
        *,
        status: str | None = "open",
        owners: Sequence[str] | None = None,
        flow: str | None = None,
        due_by: float | None = None,
        limit: int = 1000,
    ) -> list[TaskRecord]:
        clauses: list[str] = []
        args: list[Any] = []
        for column, value in (("status", status), ("flow", flow)):
            if value is not None:
                clauses.append(f"{column} = ?")
                args.append(value)
        if owners is not None:
            clauses.append(f"owner IN ({', '.join('?' * len(owners))})" if owners else "0")
            args += list(owners)
        if due_by is not None:
            clauses.append("due_at <= ?")
            args.append(due_by)
        where = " WHERE " + " AND ".join(clauses) if clauses else ""

        def op(conn: sqlite3.Connection) -> list[TaskRecord]:
            rows = conn.execute(f"SELECT {TASK_COLUMNS} FROM tasks{where} ORDER BY id LIMIT ?", (*args, limit))
            return [task_record(r, history=False) for r in rows.fetchall()]

        return await asyncio.to_thread(self._read, op)

    @staticmethod
    def _task(conn: sqlite3.Connection, task_id: int, extra: str = "", args: tuple[Any, ...] = ()) -> TaskRecord | None:
        row = conn.execute(f"SELECT {TASK_COLUMNS} FROM tasks WHERE id = ?{extra}", (task_id, *args)).fetchone()
        return None if row is None else task_record(row)

    async def get_task(self, task_id: int) -> TaskRecord | None:
        return await asyncio.to_thread(self._read, lambda conn: self._task(conn, task_id))

    async def decide_task(self, task_id: int, decision: TaskDecision) -> TaskRecord | None:
        def op(conn: sqlite3.Connection) -> TaskRecord | None:
            mine = " AND owner = ?" if decision.owner is not None else ""
            task = self._task(conn, task_id, " AND status = 'open'" + mine, (decision.owner,) if mine else ())
            if task is None:
                return None  # decided before (the writer runs one transaction at a time: at most once)
            d = decided(task, decision)
            conn.execute(
                "UPDATE tasks SET status = ?, decided_by = ?, decided_at = ?, history = ? WHERE id = ?",
                (d.status, decision.by, decision.at, json.dumps(d.history, default=str), task_id),
            )
            now = time.time()
            if d.resume is not None:
                self._insert_work(conn, [d.resume], now)
            if d.park is not None:
                self._park(conn, d.park, now)
                self._count(conn, task.flow, "exceptions")
            self._insert_traces(conn, [d.trace])
            return self._task(conn, task_id)

        return await self._run(op, durable=True)

    async def escalate_tasks(self, moves: Sequence[TaskEscalation], *, context: Mapping[str, JSON] | None = None
                             ) -> list[int]:  # fmt: skip
        def op(conn: sqlite3.Connection) -> list[int]:
            moved: list[tuple[TaskRecord, TaskEscalation]] = []
            for m in moves:
                task = self._task(conn, m.task_id, " AND status = 'open' AND level = ?", (m.level,))
                if task is None:
                    continue  # decided (or moved by another process) since it was found overdue
                history, trace = escalated(task, m)
                conn.execute(
                    "UPDATE tasks SET owner = ?, level = level + 1, due_at = ?,"
                    " overdue_since = coalesce(overdue_since, ?), history = ? WHERE id = ?",
                    (m.owner, m.due_at, m.at, json.dumps(history, default=str), m.task_id),
                )
                self._insert_traces(conn, [trace])
                moved.append((task, m))
            for owner, channel, target, digest in reminders(moved, context):
                conn.execute(
                    "INSERT INTO notices (owner, channel, target, digest, created_at, due_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (owner, channel, target, dump(digest), digest["at"], digest["at"]),
                )
            return [t.id for t, _ in moved]

        return await self._run(op, durable=True)

    # -- golden records ----------------------------------------------------------------
    @staticmethod
    def _check_golden(conn: sqlite3.Connection, writes: Sequence[GoldenWrite]) -> tuple[bool, list[GoldenWrite]]:
        """(every record is still at its expected version, the writes whose change is new)."""
        todo = []
        for w in writes:
            r = w.record
            seen = conn.execute(
                "SELECT 1 FROM golden_history WHERE entity = ? AND change_id = ?", (r.entity, w.change.change_id)
            ).fetchone()
            if seen is not None:
                continue
            row = conn.execute("SELECT version FROM golden WHERE entity = ? AND key = ?", (r.entity, r.key)).fetchone()
            if (row[0] if row is not None else 0) != w.expected_version:
                return False, []
            todo.append(w)
        return True, todo

    @staticmethod
    def _apply_golden(conn: sqlite3.Connection, writes: Sequence[GoldenWrite], now: float) -> None:
        for w in writes:
            r, c = w.record, w.change
            conn.execute(
                f"INSERT INTO golden ({GOLDEN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (entity, key) DO UPDATE SET version = excluded.version, status = excluded.status,"
                " data = excluded.data, merged_into = excluded.merged_into, updated_at = excluded.updated_at",
                (r.entity, r.key, r.version, r.status, record_data(r), r.merged_into, r.updated_at or now),
            )
            conn.execute(
                "INSERT INTO golden_history (entity, key, change_id, system, kind, detail, at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (r.entity, r.key, c.change_id, c.system, c.kind, json.dumps(c.detail, default=str), c.at or now),
            )
            if w.release_held:
                conn.execute(
                    "UPDATE exceptions SET status = 'resolved', resolved_at = ? WHERE status = 'open' AND id IN"
                    " (SELECT exception_id FROM golden_held WHERE entity = ? AND key = ?)",
                    (now, r.entity, r.key),
                )
                conn.execute("DELETE FROM golden_held WHERE entity = ? AND key = ?", (r.entity, r.key))

    async def golden(self, entity: str, keys: Sequence[str]) -> dict[str, GoldenRecord]:
        def op(conn: sqlite3.Connection) -> dict[str, GoldenRecord]:
            found: dict[str, GoldenRecord] = {}
            unique = list(dict.fromkeys(keys))
            for start in range(0, len(unique), 500):
                chunk = unique[start : start + 500]
                rows = conn.execute(
                    f"SELECT {GOLDEN_COLUMNS} FROM golden WHERE entity = ? AND key IN ({', '.join('?' * len(chunk))})",
                    (entity, *chunk),
                ).fetchall()
                for row in rows:
                    found[row[1]] = _record(*row)
            return found

        return await self._run(op)

    async def golden_page(self, entity: str, after: str | None, limit: int) -> list[GoldenRecord]:
        def op(conn: sqlite3.Connection) -> list[GoldenRecord]:
            rows = conn.execute(
                f"SELECT {GOLDEN_COLUMNS} FROM golden WHERE entity = ? AND key > ? ORDER BY key LIMIT ?",
                (entity, after if after is not None else "", limit),
            ).fetchall()
            return [_record(*row) for row in rows]

        return await self._run(op)

    async def write_golden(
        self,
        writes: Sequence[GoldenWrite],
        *,
        outputs: Sequence[NewWork] = (),
        cursor: tuple[str, JSON] | None = None,
    ) -> bool:
        def op(conn: sqlite3.Connection) -> bool:
            now = time.time()
            fresh, todo = self._check_golden(conn, writes)
            if not fresh:
                return False
            if writes and not todo:  # every change was applied before, with its outputs
                return True
            self._apply_golden(conn, todo, now)
            self._insert_work(conn, outputs, now)
            for flow, n in Counter(w.message.flow for w in outputs).items():
                self._count(conn, flow, "received", n)
            self._store_cursor(conn, cursor, now)
            return True

        return await self._run(op, durable=True)

    async def golden_history(
        self, entity: str, key: str | None = None, *, kind: str | None = None, prefix: str | None = None
    ) -> list[GoldenChange]:
        def op(conn: sqlite3.Connection) -> list[GoldenChange]:
            clauses, args = ["entity = ?"], [entity]
            if key is not None:
                clauses.append("key = ?")
                args.append(key)
            if kind is not None:
                clauses.append("kind = ?")
                args.append(kind)
            if prefix is not None:
                clauses.append("substr(change_id, 1, ?) = ?")
                args += [str(len(prefix)), prefix]
            rows = conn.execute(
                "SELECT entity, key, change_id, system, kind, detail, at, id FROM golden_history"
                f" WHERE {' AND '.join(clauses)} ORDER BY id",
                args,
            ).fetchall()
            return [GoldenChange(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], r[7]) for r in rows]

        return await self._run(op)

    # -- exceptions --------------------------------------------------------------------
    async def retry_exception(self, exception_id: int, body: JSON = None) -> bool:
        def op(conn: sqlite3.Connection) -> bool:
            row = conn.execute(
                "SELECT message, position, stage FROM exceptions WHERE id = ? AND status = 'open'",
                (exception_id,),
            ).fetchone()
            if row is None:
                return False
            msg = Message.from_json(row[0])
            if body is not None:
                msg.body = body
            now = time.time()
            self._insert_work(conn, [NewWork(msg, row[1], now)], now)
            self._insert_traces(
                conn,
                [TraceEntry(msg.id, msg.correlation_id, msg.flow, row[1], row[2], "retried", 0, msg.body, at=now)],
            )
            conn.execute("UPDATE exceptions SET status = 'retried', resolved_at = ? WHERE id = ?", (now, exception_id))
            return True

        return await self._run(op, durable=True)

    async def discard_exception(self, exception_id: int) -> bool:
        def op(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "UPDATE exceptions SET status = 'discarded', resolved_at = ? WHERE id = ? AND status = 'open'",
                (time.time(), exception_id),
            )
            return cur.rowcount == 1

        return await self._run(op, durable=True)

    # -- reads -------------------------------------------------------------------------
    async def load_cursor(self, name: str) -> JSON:
        def op(conn: sqlite3.Connection) -> JSON:
            row = conn.execute("SELECT value FROM cursors WHERE name = ?", (name,)).fetchone()
            return None if row is None else load(row[0])

        return await self._run(op)

    @staticmethod
    def _traces(conn: sqlite3.Connection, where: str, args: tuple[Any, ...]) -> list[TraceEntry]:
        rows = conn.execute(
            "SELECT message_id, correlation_id, flow, position, stage, status, attempt, input, output,"
            f" error, at FROM trace WHERE {where} ORDER BY id",
            args,
        ).fetchall()
        return [
            TraceEntry(r[0], r[1], r[2], r[3], r[4], r[5], r[6], load(r[7]), load(r[8]), r[9], r[10]) for r in rows
        ]

    async def trace(self, message_id: str) -> list[TraceEntry]:
        return await self._run(lambda conn: self._traces(conn, "correlation_id = ?", (correlation_of(message_id),)))

    def _exception(self, conn: sqlite3.Connection, row: Any, history: bool) -> ExceptionRecord:
        msg = Message.from_json(row[6])
        return ExceptionRecord(
            id=row[0],
            message=msg,
            flow=row[1],
            position=row[2],
            stage=row[3],
            owner=row[4],
            reason=row[5],
            status=row[7],
            created_at=row[8],
            history=self._traces(conn, "correlation_id = ? AND message_id = ?", (msg.correlation_id, msg.id))
            if history
            else [],
        )

    _EXC_COLUMNS = "id, flow, position, stage, owner, reason, message, status, created_at"

    async def exceptions(
        self, *, status: str | None = "open", flow: str | None = None, owner: str | None = None
    ) -> list[ExceptionRecord]:
        def op(conn: sqlite3.Connection) -> list[ExceptionRecord]:
            clauses, args = [], []
            for column, value in (("status", status), ("flow", flow), ("owner", owner)):
                if value is not None:
                    clauses.append(f"{column} = ?")
                    args.append(value)
            where = " WHERE " + " AND ".join(clauses) if clauses else ""
            rows = conn.execute(f"SELECT {self._EXC_COLUMNS} FROM exceptions{where} ORDER BY id", args).fetchall()
            return [self._exception(conn, r, history=False) for r in rows]

        return await self._run(op)

    async def get_exception(self, exception_id: int) -> ExceptionRecord | None:
        def op(conn: sqlite3.Connection) -> ExceptionRecord | None:
            row = conn.execute(f"SELECT {self._EXC_COLUMNS} FROM exceptions WHERE id = ?", (exception_id,)).fetchone()
            return None if row is None else self._exception(conn, row, history=True)

        return await self._run(op)

    async def counts(self) -> list[FlowCounts]:
        def op(conn: sqlite3.Connection) -> list[FlowCounts]:
            rows = conn.execute("SELECT flow, received, delivered, exceptions FROM flow_counts ORDER BY flow")
            return [FlowCounts(*r) for r in rows.fetchall()]

        return await asyncio.to_thread(self._read, op)  # the console asks every second: not through the writer

    async def daily_counts(self, since: str | None = None, until: str | None = None) -> list[DayCounts]:
        def op(conn: sqlite3.Connection) -> list[DayCounts]:
            rows = conn.execute(
                "SELECT flow, day, received, delivered, exceptions FROM flow_days"
                " WHERE day >= ? AND day <= ? ORDER BY day, flow",
                (since or "", until or "9999-12-31"),
            )
            return [DayCounts(*r) for r in rows.fetchall()]

        return await asyncio.to_thread(self._read, op)

    async def pending(self) -> int:
        def op(conn: sqlite3.Connection) -> int:
            return int(conn.execute("SELECT count(*) FROM work").fetchone()[0])

        return await asyncio.to_thread(self._read, op)

    async def backlog(self) -> dict[str, int]:
        def op(conn: sqlite3.Connection) -> dict[str, int]:
            return {flow: n for flow, n in conn.execute("SELECT flow, n FROM backlog WHERE n > 0")}

        return await asyncio.to_thread(self._read, op)

    # -- owners' notices (notify/) ----------------------------------------------------------
    async def notice_times(self) -> tuple[float | None, float | None]:
        def op(conn: sqlite3.Connection) -> tuple[float | None, float | None]:
            pending = conn.execute("SELECT min(first_at) FROM notice_pending").fetchone()[0]
            unsent = conn.execute(
                "SELECT min(max(due_at, coalesce(claimed_until, 0))) FROM notices WHERE sent_at IS NULL"
            ).fetchone()[0]
            return pending, unsent

        return await asyncio.to_thread(self._read, op)

    async def compose_notices(
        self,
        opened_before: float,
        channels: Mapping[str, Sequence[tuple[str, str]]],
        *,
        samples: int = 20,
        context: Mapping[str, JSON] | None = None,
        now: float,
    ) -> list[Notice]:
        def op(conn: sqlite3.Connection) -> list[Notice]:
            made: list[Notice] = []
            rows = conn.execute(
                "SELECT owner, first_id, last_id, count, first_at FROM notice_pending WHERE first_at <= ?"
                " ORDER BY first_at",
                (opened_before,),
            ).fetchall()
            for owner, first_id, last_id, count, first_at in rows:
                conn.execute("DELETE FROM notice_pending WHERE owner = ?", (owner,))
                if not channels.get(owner):
                    continue  # nobody to tell: the exceptions themselves stay listed
                span = (first_id, last_id, owner)
                flows = dict(conn.execute(
                    "SELECT flow, count(*) FROM exceptions WHERE id BETWEEN ? AND ? AND owner = ? GROUP BY flow",
                    span,
                ).fetchall())  # fmt: skip
                last_at = conn.execute(
                    "SELECT max(created_at) FROM exceptions WHERE id BETWEEN ? AND ? AND owner = ?", span
                ).fetchone()[0]
                first = [
                    {"id": r[0], "flow": r[1], "stage": r[2], "reason": r[3], "message_id": r[4], "created_at": r[5]}
                    for r in conn.execute(
                        "SELECT id, flow, stage, reason, message_id, created_at FROM exceptions"
                        " WHERE id BETWEEN ? AND ? AND owner = ? ORDER BY id LIMIT ?",
                        (*span, samples),
                    )
                ]
                digest: dict[str, JSON] = {
                    **(context or {}), "owner": owner, "count": count, "first_id": first_id, "last_id": last_id,
                    "first_at": first_at, "last_at": last_at, "flows": flows, "samples": first,
                }  # fmt: skip
                for channel, target in channels[owner]:
                    cur = conn.execute(
                        "INSERT INTO notices (owner, channel, target, digest, created_at, due_at)"
                        " VALUES (?, ?, ?, ?, ?, ?)",
                        (owner, channel, target, dump(digest), now, now),
                    )
                    assert cur.lastrowid is not None
                    made.append(Notice(cur.lastrowid, owner, channel, target, digest, 0, now))
            return made

        return await self._run(op, durable=True)

    _NOTICE_COLUMNS = "id, owner, channel, target, digest, attempts, created_at, sent_at, error"

    @staticmethod
    def _notice(r: Any) -> Notice:
        return Notice(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5], r[6], r[7], r[8])

    async def claim_notices(self, now: float, hold: float, limit: int = 100) -> list[Notice]:
        def op(conn: sqlite3.Connection) -> list[Notice]:
            rows = conn.execute(
                "UPDATE notices SET claimed_until = ? WHERE id IN (SELECT id FROM notices WHERE sent_at IS NULL"
                " AND due_at <= ? AND coalesce(claimed_until, 0) <= ? ORDER BY id LIMIT ?)"
                f" RETURNING {self._NOTICE_COLUMNS}",
                (now + hold, now, now, limit),
            ).fetchall()
            return sorted((self._notice(r) for r in rows), key=lambda n: n.id)

        return await self._run(op, durable=True)

    async def notice_sent(self, notice_id: int, now: float) -> None:
        def op(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE notices SET sent_at = ?, attempts = attempts + 1, claimed_until = NULL, error = NULL"
                " WHERE id = ?",
                (now, notice_id),
            )

        await self._run(op, durable=True)

    async def notice_failed(self, notice_id: int, error: str, retry_at: float) -> None:
        def op(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE notices SET attempts = attempts + 1, due_at = ?, claimed_until = NULL, error = ? WHERE id = ?",
                (retry_at, stored_text(error), notice_id),
            )

        await self._run(op)

    async def notices(self, *, sent: bool | None = None) -> list[Notice]:
        where = "" if sent is None else (" WHERE sent_at IS NOT NULL" if sent else " WHERE sent_at IS NULL")

        def op(conn: sqlite3.Connection) -> list[Notice]:
            rows = conn.execute(f"SELECT {self._NOTICE_COLUMNS} FROM notices{where} ORDER BY id").fetchall()
            return [self._notice(r) for r in rows]

        return await asyncio.to_thread(self._read, op)

    async def open_exceptions(self) -> dict[tuple[str, str | None], int]:
        def op(conn: sqlite3.Connection) -> dict[tuple[str, str | None], int]:
            rows = conn.execute(
                "SELECT flow, owner, count(*) FROM exceptions WHERE status = 'open' GROUP BY flow, owner"
            ).fetchall()
            return {(flow, owner): n for flow, owner, n in rows}

        return await asyncio.to_thread(self._read, op)

    async def check_writable(self) -> None:
        def op(conn: sqlite3.Connection) -> None:
            self._store_cursor(conn, ("interlace:write-check", None), time.time())

        await self._run(op)

    # == the cluster: leader leases and config versions =================================
    async def lead(self, name: str, holder: str, seconds: float, *, now: float | None = None) -> bool:
        def op(conn: sqlite3.Connection) -> bool:
            t = time.time() if now is None else now
            row = conn.execute(
                "INSERT INTO leaders (name, holder, until) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until"
                " WHERE leaders.holder = excluded.holder OR leaders.until <= ? RETURNING 1",
                (name, holder, t + seconds, t),
            ).fetchone()
            return row is not None

        return await self._run(op)

    async def resign(self, name: str, holder: str) -> None:
        await self._run(lambda conn: conn.execute("DELETE FROM leaders WHERE name = ? AND holder = ?", (name, holder)))

    _CONFIG_COLUMNS = "version, hash, text, published_by, at"

    async def publish_config(self, digest: str, text: str, by: str) -> ConfigVersion:
        def op(conn: sqlite3.Connection) -> ConfigVersion:
            row = conn.execute(
                f"SELECT {self._CONFIG_COLUMNS} FROM config_versions ORDER BY version DESC LIMIT 1"
            ).fetchone()
            if row is not None and row[1] == digest:
                return ConfigVersion(*row)
            row = conn.execute(
                f"INSERT INTO config_versions (hash, text, published_by, at) VALUES (?, ?, ?, ?)"
                f" RETURNING {self._CONFIG_COLUMNS}",
                (digest, text, by, time.time()),
            ).fetchone()
            return ConfigVersion(*row)

        return await self._run(op, durable=True)

    async def latest_config(self) -> ConfigVersion | None:
        def op(conn: sqlite3.Connection) -> ConfigVersion | None:
            row = conn.execute(
                f"SELECT {self._CONFIG_COLUMNS} FROM config_versions ORDER BY version DESC LIMIT 1"
            ).fetchone()
            return None if row is None else ConfigVersion(*row)

        return await asyncio.to_thread(self._read, op)

    # == API tokens and the audit log ==================================================
    # Their own tables (_TOKEN_TABLES below), made on first use so the queue's SCHEMA stays as is.

    async def _run_tokens(self, op: Callable[[sqlite3.Connection], T]) -> T:
        if not getattr(self, "_token_tables_made", False):
            await self._run(lambda conn: [conn.execute(statement) for statement in _TOKEN_TABLES])
            self._token_tables_made = True
        return await self._run(op)

    async def create_token(self, name: str, role: Role, token_hash: str, created_by: str) -> ApiToken:
        def op(conn: sqlite3.Connection) -> ApiToken:
            if conn.execute("SELECT 1 FROM api_tokens WHERE name = ? AND revoked_at IS NULL", (name,)).fetchone():
                raise ValueError(f"a token named {name!r} exists; revoke it first or choose another name")
            now = time.time()
            cur = conn.execute(
                "INSERT INTO api_tokens (name, role, token_hash, created_at, created_by) VALUES (?, ?, ?, ?, ?)",
                (name, role, token_hash, now, created_by),
            )
            assert cur.lastrowid is not None
            return ApiToken(cur.lastrowid, name, role, now, created_by)

        return await self._run_tokens(op)

    async def tokens(self, *, revoked: bool = False) -> list[ApiToken]:
        where = "" if revoked else " WHERE revoked_at IS NULL"
        return await self._run_tokens(
            lambda conn: [
                ApiToken(*r)
                for r in conn.execute(f"SELECT {_TOKEN_COLUMNS} FROM api_tokens{where} ORDER BY id").fetchall()
            ]
        )

    async def token_by_hash(self, token_hash: str) -> ApiToken | None:
        def op(conn: sqlite3.Connection) -> ApiToken | None:
            row = conn.execute(
                f"SELECT {_TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL", (token_hash,)
            ).fetchone()
            return None if row is None else ApiToken(*row)

        return await self._run_tokens(op)

    async def revoke_token(self, name: str) -> bool:
        def op(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "UPDATE api_tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL", (time.time(), name)
            )
            return cur.rowcount > 0

        return await self._run_tokens(op)

    async def record_audit(self, entry: AuditEntry) -> None:
        def op(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO audit (at, actor, action, target, outcome, detail) VALUES (?, ?, ?, ?, ?, ?)",
                (entry.at or time.time(), entry.actor, entry.action, entry.target, entry.outcome, dump(entry.detail)),
            )

        await self._run_tokens(op)

    async def audit_log(self, *, limit: int = 100, actor: str | None = None) -> list[AuditEntry]:
        where, args = ("WHERE actor = ? ", [actor]) if actor is not None else ("", [])

        def op(conn: sqlite3.Connection) -> list[AuditEntry]:
            rows = conn.execute(
                f"SELECT actor, action, target, outcome, detail, at, id FROM audit {where}ORDER BY id DESC LIMIT ?",
                (*args, limit),
            ).fetchall()
            return [AuditEntry(r[0], r[1], r[2], r[3], json.loads(r[4]) if r[4] else {}, r[5], r[6]) for r in rows]

        return await self._run_tokens(op)

    async def create_session(self, session_hash: str, token_id: int, csrf: str, expires_at: float) -> None:
        def op(conn: sqlite3.Connection) -> None:
            now = time.time()
            conn.execute("DELETE FROM console_sessions WHERE expires_at <= ?", (now,))
            conn.execute(
                "INSERT INTO console_sessions (session_hash, token_id, csrf, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (session_hash, token_id, csrf, now, expires_at),
            )

        await self._run_tokens(op)

    async def session(self, session_hash: str, now: float) -> tuple[ApiToken, str] | None:
        columns = ", ".join(f"t.{c}" for c in _TOKEN_COLUMNS.split(", "))

        def op(conn: sqlite3.Connection) -> tuple[ApiToken, str] | None:
            row = conn.execute(
                f"SELECT {columns}, s.csrf FROM console_sessions s JOIN api_tokens t ON t.id = s.token_id"
                " WHERE s.session_hash = ? AND s.expires_at > ? AND t.revoked_at IS NULL",
                (session_hash, now),
            ).fetchone()
            return None if row is None else (ApiToken(*row[:-1]), row[-1])

        return await self._run_tokens(op)

    async def end_session(self, session_hash: str) -> None:
        def op(conn: sqlite3.Connection) -> None:
            conn.execute(
                "DELETE FROM console_sessions WHERE session_hash = ? OR expires_at <= ?", (session_hash, time.time())
            )

        await self._run_tokens(op)

    async def recent_messages(self, *, flow: str | None = None, limit: int = 50) -> list[TraceEntry]:
        where, args = ("stage = 'received' AND flow = ?", (flow,)) if flow else ("stage = 'received'", ())

        def op(conn: sqlite3.Connection) -> list[TraceEntry]:
            rows = conn.execute(
                "SELECT message_id, correlation_id, flow, position, stage, status, attempt, input, output,"
                f" error, at FROM trace WHERE {where} ORDER BY id DESC LIMIT ?",
                (*args, max(0, limit)),
            ).fetchall()
            return [TraceEntry(r[0], r[1], r[2], r[3], r[4], r[5], r[6], load(r[7]), load(r[8]), r[9], r[10])
                    for r in rows]  # fmt: skip

        return await asyncio.to_thread(self._read, op)


# Imported here, not at the top, to keep this section apart from the queue's code above.
from interlace.backends.base import ApiToken, AuditEntry, Role  # noqa: E402

_TOKEN_COLUMNS = "id, name, role, created_at, created_by, revoked_at"
_TOKEN_TABLES = (
    """CREATE TABLE IF NOT EXISTS api_tokens (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        created_at REAL NOT NULL,
        created_by TEXT NOT NULL,
        revoked_at REAL
    )""",
    "CREATE UNIQUE INDEX IF NOT EXISTS api_tokens_live_name ON api_tokens (name) WHERE revoked_at IS NULL",
    """CREATE TABLE IF NOT EXISTS console_sessions (
        session_hash TEXT PRIMARY KEY,
        token_id INTEGER NOT NULL,
        csrf TEXT NOT NULL,
        created_at REAL NOT NULL,
        expires_at REAL NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS audit (
        id INTEGER PRIMARY KEY,
        at REAL NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        outcome TEXT NOT NULL,
        detail TEXT
    )""",
)
