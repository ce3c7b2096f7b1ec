"""The PostgreSQL backend: one schema holds the queue, traces, exceptions, idempotency keys,
cursors, golden records, tokens, leader leases and config versions, shared by any number of hub
processes on any number of machines.

- The work queue is the `work` table. A lease takes due rows with `FOR UPDATE SKIP LOCKED` (two
  workers never wait on, or take, the same row) and moves their `available_at` to the lease's
  end, read from the database's clock, so the machines' clocks need not agree: an item whose
  worker died is simply due again when its lease runs out, and any worker takes it over.
- A settle is one transaction for a whole batch: it locks the batch's rows, refuses the items
  whose lease was lost, and deletes, reschedules and inserts with one statement each.
- Writers that commit new work wake idle workers through LISTEN/NOTIFY (one NOTIFY at a time per
  process, sent after the commit: a NOTIFY inside a transaction would serialise the commits of
  every process behind the notification queue's lock).
- Counters (each flow's backlog, received, delivered and exceptions) are kept in `counters`,
  spread over a few rows per flow so that concurrent transactions do not queue on one hot row;
  a read sums them. Flow bounds are checked from that sum inside the enqueuing transaction;
  near a bound (within 10% of it or 256 items), enqueues of that flow take a transaction-scoped
  advisory lock in turn, so the bound holds across processes (it could be passed only by more
  enqueues in flight at once than that margin, all started while the flow was far from full).
- Leases, settles and extends commit without waiting for the WAL flush (a settle lost to a
  server crash is run again, and sinks recognise the redelivery); what a sender was told is
  stored (new messages, an owner's retry) is flushed before the call returns, unless the hub
  is `durable: normal`.

The URL: `postgresql://[user@]host[:port]/database?schema=NAME&pool=N`; `schema` (default
`interlace`) is created when missing, `pool` (default 8) bounds the connections of a process.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg

from interlace.backends.base import (
    ApiToken,
    AuditEntry,
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
    ParkedException,
    Role,
    Settle,
    TaskDecision,
    TaskEscalation,
    TaskRecord,
    TraceEntry,
    WorkItem,
)
from interlace.backends.stored import GOLDEN_COLUMNS, correlation_of, dump, load, record_data
from interlace.backends.tasks import TASK_COLUMNS, created_line, decided, escalated, task_record
from interlace.errors import Backpressure, IdempotencyConflict
from interlace.message import Message
from interlace.types import JSON

log = logging.getLogger("interlace.backends.postgresql")
T = TypeVar("T")

SHARDS = 16
"""Rows per flow in `counters`: a transaction adds to one chosen at random."""

_MARGIN = (0.1, 256)
"""Within this share of its bound, or this many items of it (the larger), a flow's enqueues take
its advisory lock in turn: enqueues in flight at once past the margin are what could pass it."""

_NOW = "extract(epoch FROM clock_timestamp())::float8"

SCHEMA = """
CREATE TABLE work (
    id bigserial PRIMARY KEY,
    flow text NOT NULL,
    position integer NOT NULL,
    message text NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    available_at float8 NOT NULL,
    lease_owner text
);
CREATE INDEX work_due ON work (available_at);
CREATE TABLE trace (
    id bigserial PRIMARY KEY,
    correlation_id text NOT NULL,
    message_id text NOT NULL,
    flow text NOT NULL,
    position integer NOT NULL,
    stage text NOT NULL,
    status text NOT NULL,
    attempt integer NOT NULL,
    input text,
    output text,
    error text,
    at float8 NOT NULL
);
CREATE INDEX trace_correlation ON trace (correlation_id);
CREATE TABLE exceptions (
    id bigserial PRIMARY KEY,
    message_id text NOT NULL,
    flow text NOT NULL,
    position integer NOT NULL,
    stage text NOT NULL,
    owner text,
    reason text NOT NULL,
    message text NOT NULL,
    status text NOT NULL DEFAULT 'open',
    created_at float8 NOT NULL,
    resolved_at float8
);
CREATE INDEX exceptions_status ON exceptions (status, owner);
CREATE TABLE idempotency (key text PRIMARY KEY, message_id text NOT NULL, at float8 NOT NULL, fingerprint text);
CREATE TABLE cursors (name text PRIMARY KEY, value text, at float8 NOT NULL);
CREATE TABLE counters (
    flow text NOT NULL,
    shard integer NOT NULL,
    backlog bigint NOT NULL DEFAULT 0,
    received bigint NOT NULL DEFAULT 0,
    delivered bigint NOT NULL DEFAULT 0,
    exceptions bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (flow, shard)
);
CREATE TABLE flow_days (
    flow text NOT NULL,
    day text NOT NULL,
    shard integer NOT NULL,
    received bigint NOT NULL DEFAULT 0,
    delivered bigint NOT NULL DEFAULT 0,
    exceptions bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (flow, day, shard)
);
CREATE TABLE golden (
    entity text NOT NULL,
    key text NOT NULL,
    version integer NOT NULL,
    status text NOT NULL,
    data text NOT NULL,
    merged_into text,
    updated_at float8 NOT NULL,
    PRIMARY KEY (entity, key)
);
CREATE TABLE golden_history (
    id bigserial PRIMARY KEY,
    entity text NOT NULL,
    key text NOT NULL,
    change_id text NOT NULL,
    system text NOT NULL,
    kind text NOT NULL,
    detail text NOT NULL,
    at float8 NOT NULL
);
CREATE UNIQUE INDEX golden_history_change ON golden_history (entity, change_id);
CREATE INDEX golden_history_key ON golden_history (entity, key);
CREATE TABLE golden_held (exception_id bigint PRIMARY KEY, entity text NOT NULL, key text NOT NULL);
CREATE INDEX golden_held_key ON golden_held (entity, key);
CREATE TABLE api_tokens (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    role text NOT NULL,
    token_hash text NOT NULL UNIQUE,
    created_at float8 NOT NULL,
    created_by text NOT NULL,
    revoked_at float8
);
CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (name) WHERE revoked_at IS NULL;
CREATE TABLE audit (
    id bigserial PRIMARY KEY,
    at float8 NOT NULL,
    actor text NOT NULL,
    action text NOT NULL,
    target text NOT NULL,
    outcome text NOT NULL,
    detail text
);
CREATE TABLE leaders (name text PRIMARY KEY, holder text NOT NULL, until float8 NOT NULL);
CREATE TABLE config_versions (
    version bigserial PRIMARY KEY,
    hash text NOT NULL,
    text text NOT NULL,
    published_by text NOT NULL,
    at float8 NOT NULL
);
"""

SESSIONS_AND_BUS = """
CREATE TABLE console_sessions (
    session_hash text PRIMARY KEY,
    token_id bigint NOT NULL REFERENCES api_tokens (id),
    csrf text NOT NULL,
    created_at float8 NOT NULL,
    expires_at float8 NOT NULL
);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);
CREATE INDEX trace_received ON trace (id) WHERE stage = 'received';
CREATE INDEX trace_received_flow ON trace (flow, id) WHERE stage = 'received';
CREATE INDEX work_on_bus ON work (id) WHERE lease_owner = '~bus';
"""
"""Console sessions; the indexes of the console's recent messages; the rows a bus carries
(backends/rabbitmq.py)."""

TASKS_SCHEMA = """
CREATE TABLE tasks (
    id bigserial PRIMARY KEY,
    flow text NOT NULL,
    position integer NOT NULL,
    name text NOT NULL,
    message_id text NOT NULL,
    message text NOT NULL,
    owner text NOT NULL,
    status text NOT NULL DEFAULT 'open',
    level integer NOT NULL DEFAULT 0,
    due_at float8,
    reject_owner text,
    created_at float8 NOT NULL,
    overdue_since float8,
    decided_by text,
    decided_at float8,
    history text NOT NULL
);
CREATE INDEX tasks_status ON tasks (status, owner);
CREATE INDEX tasks_due ON tasks (due_at) WHERE status = 'open';
CREATE INDEX tasks_message ON tasks (message_id);
"""

MIGRATIONS: list[str] = [
    SCHEMA,  # version 1: the store as first released
    SESSIONS_AND_BUS,  # version 2: console sessions, recent messages, RabbitMQ as the bus
    # version 3: human tasks (engine/tasks.py): messages waiting for a person's decision
    TASKS_SCHEMA,
]
"""The store's schema, one entry per version; the `schema_version` table says which ran. A store
is brought up to date when it opens (one process at a time, under an advisory lock), each step in
its own transaction; a store written by a newer Interlace is refused rather than guessed at."""

SCHEMA_VERSION = len(MIGRATIONS)


def parse_url(url: str) -> tuple[str, str, int]:
    """(asyncpg DSN, schema, pool size) of a store URL."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    schema = query.pop("schema", "interlace")
    pool = int(query.pop("pool", "8"))
    if not schema.replace("_", "").isalnum() or not schema[0].isalpha() or len(schema) > 50:
        raise ValueError(f"store URL {url!r}: schema must be letters, digits and _ (at most 50), from a letter")
    dsn = urlunsplit(("postgresql", parts.netloc, parts.path, urlencode(query), ""))
    return dsn, schema, pool


def _record(row: Any) -> GoldenRecord:
    d = json.loads(row["data"])
    provenance = {f: FieldSource(*p) for f, p in d["provenance"].items()}
    return GoldenRecord(
        row["entity"], row["key"], d["values"], provenance, d["sent"], row["status"], row["version"],
        row["merged_into"], row["updated_at"], d.get("seen", {}),
    )  # fmt: skip


_EXC_COLUMNS = "id, flow, position, stage, owner, reason, message, status, created_at"
_TOKEN_COLUMNS = "id, name, role, created_at, created_by, revoked_at"


def _affected(status: str) -> int:
    """The row count of a command tag such as 'UPDATE 3'."""
    return int(status.rsplit(" ", 1)[-1])


class _Stale(Exception):
    """A golden record moved since it was read: the savepoint is rolled back."""


class PostgresBackend(Backend):
    shared = True

    def __init__(self, url: str, *, durable: str = "full") -> None:
        self.url = url
        self.dsn, self.schema, self.pool_size = parse_url(url)
        self.durable = durable
        self.backlog_seen = {}
        self._pool: asyncpg.Pool | None = None
        self._listener: asyncpg.Connection | None = None
        self._channel = f"interlace_{self.schema}"
        self._notifying: asyncio.Task[None] | None = None
        self._notify_again = False

    # -- connections -------------------------------------------------------------------
    def _settings(self) -> dict[str, str]:
        # Sessions commit without waiting for the WAL flush unless a transaction asks for it
        # (_tx with durable): leases, extends and settles need no flush of their own.
        return {"search_path": self.schema, "application_name": "interlace", "synchronous_commit": "off"}

    async def open(self) -> None:
        conn = await asyncpg.connect(self.dsn, server_settings=self._settings())
        try:
            await migrate(conn, self.schema)
        finally:
            await conn.close()
        self._pool = await asyncpg.create_pool(
            self.dsn, min_size=1, max_size=self.pool_size, server_settings=self._settings()
        )
        try:
            self._listener = await asyncpg.connect(self.dsn, server_settings=self._settings())
            await self._listener.add_listener(self._channel, self._notified)
        except Exception:
            await self._pool.close()
            self._pool = None
            raise

    async def close(self) -> None:
        if self._notifying is not None:
            self._notifying.cancel()
            await asyncio.gather(self._notifying, return_exceptions=True)
            self._notifying = None
        if self._listener is not None:
            try:
                await asyncio.wait_for(self._listener.close(), 5)
            except Exception:
                self._listener.terminate()
            self._listener = None
        if self._pool is not None:
            try:
                await asyncio.wait_for(self._pool.close(), 10)
            except Exception:
                self._pool.terminate()
            self._pool = None

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("backend is not open")
        return self._pool

    async def _tx(self, op: Callable[[asyncpg.Connection], Awaitable[T]], *, durable: bool = True) -> T:
        """Run `op` in a transaction of its own, again (up to 5 times) when the server ended it
        as a deadlock victim or a serialisation failure."""
        for attempt in range(5):
            async with self.pool.acquire() as conn:
                try:
                    async with conn.transaction():
                        if durable and self.durable == "full":
                            await conn.execute("SET LOCAL synchronous_commit TO on")
                        return await op(conn)
                except (asyncpg.DeadlockDetectedError, asyncpg.SerializationError):
                    if attempt == 4:
                        raise
            await asyncio.sleep(0.005 * (attempt + 1) * (1 + random.random()))
        raise AssertionError("unreachable")

    async def _read(self, op: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """Run `op` outside a transaction: reads, and single statements (atomic by themselves,
        committed without a WAL flush), which then cost one round trip instead of three."""
        async with self.pool.acquire() as conn:
            return await op(conn)

    # -- waking workers ----------------------------------------------------------------
    def _notified(self, conn: object, pid: int, channel: str, payload: str) -> None:
        if payload == "config":
            if self.on_config is not None:
                self.on_config()
        elif self.on_new_work is not None:
            self.on_new_work()

    def _wake(self, published: Sequence[int] = ()) -> None:
        """New work was committed: wake this process's worker now, and the others by NOTIFY.
        `published`: the rows `_insert_work` marked for a bus to carry (none here)."""
        if self.on_new_work is not None:
            self.on_new_work()
        self._notify("work")

    def _notify(self, payload: str) -> None:
        if self._notifying is not None and not self._notifying.done():
            self._notify_again = True
            return
        self._notifying = asyncio.get_running_loop().create_task(self._send_notify(payload))

    async def _send_notify(self, payload: str) -> None:
        while True:
            self._notify_again = False
            try:
                async with self.pool.acquire() as conn:
                    await conn.execute("SELECT pg_notify($1, $2)", self._channel, payload)
            except Exception:  # idle workers still poll: a lost wake-up only delays them
                log.warning("could not notify workers of new work", exc_info=True)
                return
            if not self._notify_again:
                return

    # -- writes ------------------------------------------------------------------------
    async def _insert_work(self, conn: asyncpg.Connection, work: Sequence[NewWork]) -> list[int]:
        """Insert work rows; the ids of those a bus is to carry (none for this backend: workers
        lease from the table itself)."""
        if not work:
            return []
        await conn.execute(
            "INSERT INTO work (flow, position, message, attempts, available_at)"
            " SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::int[], $5::float8[])",
            [w.message.flow for w in work],
            [w.position for w in work],
            [w.message.to_json() for w in work],
            [w.attempts for w in work],
            [max(w.available_at, 0.0) for w in work],
        )
        return []

    @staticmethod
    async def _insert_traces(conn: asyncpg.Connection, traces: Sequence[TraceEntry]) -> None:
        if not traces:
            return
        now = time.time()
        await conn.execute(
            "INSERT INTO trace (correlation_id, message_id, flow, position, stage, status, attempt, input, output,"
            " error, at) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[],"
            " $7::int[], $8::text[], $9::text[], $10::text[], $11::float8[])",
            [t.correlation_id for t in traces],
            [t.message_id for t in traces],
            [t.flow for t in traces],
            [t.position for t in traces],
            [t.stage for t in traces],
            [t.status for t in traces],
            [t.attempt for t in traces],
            [dump(t.input) for t in traces],
            [dump(t.output) for t in traces],
            [t.error for t in traces],
            [t.at or now for t in traces],
        )

    @staticmethod
    async def _store_cursor(conn: asyncpg.Connection, cursor: tuple[str, JSON] | None, now: float) -> None:
        if cursor is not None:
            await conn.execute(
                "INSERT INTO cursors (name, value, at) VALUES ($1, $2, $3)"
                " ON CONFLICT (name) DO UPDATE SET value = excluded.value, at = excluded.at",
                cursor[0], dump(cursor[1]), now,
            )  # fmt: skip

    @staticmethod
    async def _add_counts(conn: asyncpg.Connection, deltas: Mapping[str, Counter[str]]) -> None:
        """Add to each flow's counters (`backlog`, `received`, `delivered`, `exceptions`) and to its
        counts of the day (UTC, by the database's clock), in one statement, in flow order
        (concurrent transactions take the rows in one order: no deadlock between them)."""
        flows = sorted(f for f, c in deltas.items() if any(c.values()))
        if not flows:
            return
        await conn.execute(
            "WITH u AS (SELECT * FROM unnest($1::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[])"
            " AS u(f, b, r, d, e)),"
            " totals AS (INSERT INTO counters (flow, shard, backlog, received, delivered, exceptions)"
            " SELECT f, $2, b, r, d, e FROM u ORDER BY f"
            " ON CONFLICT (flow, shard) DO UPDATE SET backlog = counters.backlog + excluded.backlog,"
            " received = counters.received + excluded.received, delivered = counters.delivered + excluded.delivered,"
            " exceptions = counters.exceptions + excluded.exceptions)"
            " INSERT INTO flow_days (flow, day, shard, received, delivered, exceptions)"
            " SELECT f, to_char(timezone('UTC', now()), 'YYYY-MM-DD'), $2, r, d, e FROM u"
            " WHERE r <> 0 OR d <> 0 OR e <> 0 ORDER BY f"
            " ON CONFLICT (flow, day, shard) DO UPDATE SET received = flow_days.received + excluded.received,"
            " delivered = flow_days.delivered + excluded.delivered,"
            " exceptions = flow_days.exceptions + excluded.exceptions",
            flows,
            random.randrange(SHARDS),
            [deltas[f]["backlog"] for f in flows],
            [deltas[f]["received"] for f in flows],
            [deltas[f]["delivered"] for f in flows],
            [deltas[f]["exceptions"] for f in flows],
        )

    async def enqueue(
        self,
        work: Sequence[NewWork],
        *,
        cursor: tuple[str, JSON] | None = None,
        traces: Sequence[TraceEntry] = (),
        bounds: Mapping[str, int] | None = None,
    ) -> list[str]:
        published: list[int] = []

        async def op(conn: asyncpg.Connection) -> list[str]:
            now = time.time()
            published.clear()
            ids, fresh = await self._claim_keys(conn, work, now)
            deltas: dict[str, Counter[str]] = defaultdict(Counter)
            for w in fresh:
                deltas[w.message.flow]["backlog"] += 1
                deltas[w.message.flow]["received"] += 1
            if bounds:
                await self._check_bounds(conn, {f: c["backlog"] for f, c in deltas.items()}, bounds)
            published.extend(await self._insert_work(conn, fresh))
            fresh_ids = {w.message.id for w in fresh}
            await self._insert_traces(conn, [t for t in traces if t.message_id in fresh_ids])
            await self._store_cursor(conn, cursor, now)
            await self._add_counts(conn, deltas)
            return ids

        ids = await self._tx(op)
        self._wake(published)
        return ids

    @staticmethod
    async def _claim_keys(
        conn: asyncpg.Connection, work: Sequence[NewWork], now: float
    ) -> tuple[list[str], list[NewWork]]:
        """Each item's message id (an earlier message's for a key seen before) and the items to
        store. Keys are claimed in key order, so two batches never wait on each other in a circle."""
        first: dict[str, NewWork] = {}
        for w in work:
            if w.idempotency_key is not None:
                first.setdefault(w.idempotency_key, w)
        claimed: set[str] = set()
        earlier: dict[str, tuple[str, str | None]] = {}
        if first:
            keys = list(first)
            rows = await conn.fetch(
                "INSERT INTO idempotency (key, message_id, at, fingerprint)"
                " SELECT k, m, $3, f FROM unnest($1::text[], $2::text[], $4::text[]) AS u(k, m, f) ORDER BY k"
                " ON CONFLICT (key) DO NOTHING RETURNING key",
                keys,
                [first[k].message.id for k in keys],
                now,
                [first[k].fingerprint for k in keys],
            )
            claimed = {r["key"] for r in rows}
            missing = [k for k in keys if k not in claimed]
            if missing:
                found = await conn.fetch(
                    "SELECT key, message_id, fingerprint FROM idempotency WHERE key = ANY($1::text[])", missing
                )
                earlier = {r["key"]: (r["message_id"], r["fingerprint"]) for r in found}
        ids: list[str] = []
        fresh: list[NewWork] = []
        for w in work:
            key = w.idempotency_key
            if key is None:
                ids.append(w.message.id)
                fresh.append(w)
                continue
            if key in claimed and first[key] is w:
                ids.append(w.message.id)
                fresh.append(w)
                continue
            message_id, fingerprint = earlier.get(key) or (first[key].message.id, first[key].fingerprint)
            if w.fingerprint is not None and fingerprint is not None and fingerprint != w.fingerprint:
                raise IdempotencyConflict(key, message_id)
            ids.append(message_id)
        return ids, fresh

    async def _check_bounds(
        self, conn: asyncpg.Connection, adding: Mapping[str, int], bounds: Mapping[str, int]
    ) -> None:
        for flow in sorted(adding):
            n, bound = adding[flow], bounds.get(flow)
            if bound is None or n == 0:
                continue
            query = "SELECT coalesce(sum(backlog), 0) FROM counters WHERE flow = $1"
            pending = int(await conn.fetchval(query, flow))
            if pending + n > bound - max(bound * _MARGIN[0], _MARGIN[1]):
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"interlace:{self.schema}:{flow}")
                pending = int(await conn.fetchval(query, flow))
            self.backlog_seen[flow] = pending
            if pending + n > bound:
                raise Backpressure(flow, pending, bound)

    async def lease(self, owner: str, limit: int, seconds: float) -> list[WorkItem]:
        async def op(conn: asyncpg.Connection) -> list[WorkItem]:
            rows = await conn.fetch(
                f"WITH now AS (SELECT {_NOW} AS t),"
                " due AS (SELECT id FROM work WHERE available_at <= (SELECT t FROM now)"
                " ORDER BY available_at LIMIT $2 FOR UPDATE SKIP LOCKED)"
                " UPDATE work SET lease_owner = $1, available_at = (SELECT t FROM now) + $3"
                " FROM due WHERE work.id = due.id RETURNING work.id, work.message, work.position, work.attempts",
                owner,
                limit,
                seconds,
            )
            return [WorkItem(r[0], Message.from_json(r[1]), r[2], r[3], owner) for r in rows]

        return await self._read(op)

    async def extend(self, owner: str, ids: Sequence[int], seconds: float) -> None:
        async def op(conn: asyncpg.Connection) -> None:
            await conn.execute(
                f"UPDATE work SET available_at = {_NOW} + $3 WHERE id = ANY($1::bigint[]) AND lease_owner = $2",
                sorted(ids),
                owner,
                seconds,
            )

        await self._read(op)

    async def settle(self, outcomes: Sequence[Settle]) -> list[bool]:
        woke = False
        published: list[int] = []

        async def op(conn: asyncpg.Connection) -> list[bool]:
            nonlocal woke
            now = time.time()
            published.clear()
            rows = await conn.fetch(
                "SELECT id, lease_owner FROM work WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE",
                [s.item.id for s in outcomes],
            )
            held = {r[0]: r[1] for r in rows}
            done: list[bool] = []
            deltas: dict[str, Counter[str]] = defaultdict(Counter)
            acked: list[int] = []
            retried: list[tuple[int, float]] = []
            again: list[int] = []
            outputs: list[NewWork] = []
            traces: list[TraceEntry] = []
            for s in outcomes:
                if held.get(s.item.id) != s.item.lease_owner:
                    done.append(False)
                    continue
                flow = s.item.message.flow
                if s.golden:
                    applied = await self._golden_writes(conn, s.golden, now)
                    if applied is False:  # another change of the record came first: run again on the new one
                        again.append(s.item.id)
                        done.append(False)
                        continue
                    if applied is None:  # this change was applied before: its effects are already stored
                        acked.append(s.item.id)
                        deltas[flow]["backlog"] -= 1
                        done.append(True)
                        continue
                if s.retry_at is not None:
                    retried.append((s.item.id, s.retry_at))
                else:
                    acked.append(s.item.id)
                    deltas[flow]["backlog"] -= 1
                if s.park:
                    msg = s.message or s.item.message
                    position = s.position if s.position is not None else s.item.position
                    parked = ParkedException(msg, position, s.stage or "", s.owner, s.reason or "failed")
                    await self._park(conn, parked, now)
                    deltas[flow]["exceptions"] += 1
                for parked in s.exceptions:
                    await self._park(conn, parked, now)
                    deltas[parked.message.flow]["exceptions"] += 1
                await self._add_tasks(conn, s.tasks, now)
                outputs.extend(s.outputs)
                traces.extend(s.traces)
                deltas[flow]["delivered"] += s.delivered
                done.append(True)
            if acked:
                await conn.execute("DELETE FROM work WHERE id = ANY($1::bigint[])", acked)
            if retried:
                await conn.execute(
                    "UPDATE work SET attempts = attempts + 1, available_at = u.at, lease_owner = NULL"
                    " FROM unnest($1::bigint[], $2::float8[]) AS u(id, at) WHERE work.id = u.id",
                    [i for i, _ in retried],
                    [at for _, at in retried],
                )
            if again:
                await conn.execute(
                    "UPDATE work SET available_at = $2, lease_owner = NULL WHERE id = ANY($1::bigint[])", again, now
                )
            published.extend(await self._insert_work(conn, outputs))
            for w in outputs:
                deltas[w.message.flow]["backlog"] += 1
            await self._insert_traces(conn, traces)
            await self._add_counts(conn, deltas)
            woke = bool(again) or any(w.available_at <= now for w in outputs)
            return done

        done = await self._tx(op, durable=False)
        if woke or published:
            self._wake(published)
        return done

    @staticmethod
    async def _park(conn: asyncpg.Connection, p: ParkedException, now: float) -> None:
        msg = p.message
        exception_id = await conn.fetchval(
            "INSERT INTO exceptions (message_id, flow, position, stage, owner, reason, message, created_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            msg.id, msg.flow, p.position, p.stage, p.owner, p.reason, msg.to_json(), now,
        )  # fmt: skip
        if p.hold is not None:
            await conn.execute(
                "INSERT INTO golden_held (exception_id, entity, key) VALUES ($1, $2, $3)", exception_id, *p.hold
            )

    # -- human tasks -------------------------------------------------------------------
    @staticmethod
    async def _add_tasks(conn: asyncpg.Connection, tasks: Sequence[NewTask], now: float) -> None:
        if not tasks:
            return
        await conn.executemany(
            "INSERT INTO tasks (flow, position, name, message_id, message, owner, due_at, reject_owner, created_at,"
            " history) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
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
                args.append(value)
                clauses.append(f"{column} = ${len(args)}")
        if owners is not None:
            args.append(list(owners))
            clauses.append(f"owner = ANY(${len(args)}::text[])")
        if due_by is not None:
            args.append(due_by)
            clauses.append(f"due_at <= ${len(args)}")
        where = " WHERE " + " AND ".join(clauses) if clauses else ""
        args.append(limit)

        async def op(conn: asyncpg.Connection) -> list[TaskRecord]:
            rows = await conn.fetch(f"SELECT {TASK_COLUMNS} FROM tasks{where} ORDER BY id LIMIT ${len(args)}", *args)
            return [task_record(r, history=False) for r in rows]

        return await self._read(op)

    @staticmethod
    async def _task(conn: asyncpg.Connection, task_id: int, extra: str = "", *args: Any) -> TaskRecord | None:
        row = await conn.fetchrow(f"SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1{extra}", task_id, *args)
        return None if row is None else task_record(row)

    async def get_task(self, task_id: int) -> TaskRecord | None:
        return await self._read(lambda conn: self._task(conn, task_id))

    async def decide_task(self, task_id: int, decision: TaskDecision) -> TaskRecord | None:
        published: list[int] = []

        async def op(conn: asyncpg.Connection) -> TaskRecord | None:
            published.clear()
            # FOR UPDATE: a second decider waits for the first to commit, then finds the task decided
            mine = " AND owner = $2" if decision.owner is not None else ""
            args = (decision.owner,) if mine else ()
            task = await self._task(conn, task_id, " AND status = 'open'" + mine + " FOR UPDATE", *args)
            if task is None:
                return None
            d = decided(task, decision)
            await conn.execute(
                "UPDATE tasks SET status = $1, decided_by = $2, decided_at = $3, history = $4 WHERE id = $5",
                d.status, decision.by, decision.at, json.dumps(d.history, default=str), task_id,
            )  # fmt: skip
            now = time.time()
            if d.resume is not None:
                published.extend(await self._insert_work(conn, [d.resume]))
                await self._add_counts(conn, {task.flow: Counter(backlog=1)})
            if d.park is not None:
                await self._park(conn, d.park, now)
                await self._add_counts(conn, {task.flow: Counter(exceptions=1)})
            await self._insert_traces(conn, [d.trace])
            return await self._task(conn, task_id)

        found = await self._tx(op)
        if found is not None and found.status == "approved":
            self._wake(published)
        return found

    async def escalate_tasks(self, moves: Sequence[TaskEscalation], *, context: Mapping[str, JSON] | None = None
                             ) -> list[int]:  # fmt: skip
        """As the base class says; this store keeps no notices (neither of exceptions), so no reminder
        is sent from it (docs/approvals.md)."""

        async def op(conn: asyncpg.Connection) -> list[int]:
            moved = []
            for m in sorted(moves, key=lambda m: m.task_id):  # rows locked in one order: no deadlock
                task = await self._task(conn, m.task_id, " AND status = 'open' AND level = $2 FOR UPDATE", m.level)
                if task is None:
                    continue
                history, trace = escalated(task, m)
                await conn.execute(
                    "UPDATE tasks SET owner = $1, level = level + 1, due_at = $2,"
                    " overdue_since = coalesce(overdue_since, $3), history = $4 WHERE id = $5",
                    m.owner, m.due_at, m.at, json.dumps(history, default=str), m.task_id,
                )  # fmt: skip
                await self._insert_traces(conn, [trace])
                moved.append(task.id)
            return moved

        return await self._tx(op)

    # -- golden records ----------------------------------------------------------------
    async def _golden_writes(self, conn: asyncpg.Connection, writes: Sequence[GoldenWrite], now: float) -> bool | None:
        """Apply the writes whose change is new, in a savepoint: True when some were applied,
        None when every change was applied before, False (nothing applied) when a record's
        version moved. A record is written only at its expected version (an insert for 0, a
        conditional update otherwise), so two processes never both pass the check."""
        try:
            async with conn.transaction():  # a savepoint inside the caller's transaction
                applied = False
                for w in writes:
                    r, c = w.record, w.change
                    seen = await conn.fetchval(
                        "SELECT 1 FROM golden_history WHERE entity = $1 AND change_id = $2", r.entity, c.change_id
                    )
                    if seen is not None:
                        continue
                    values = (r.entity, r.key, r.version, r.status, record_data(r), r.merged_into, r.updated_at or now)
                    if w.expected_version == 0:
                        wrote = await conn.fetchval(
                            f"INSERT INTO golden ({GOLDEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
                            " ON CONFLICT (entity, key) DO NOTHING RETURNING 1",
                            *values,
                        )
                    else:
                        wrote = await conn.fetchval(
                            "UPDATE golden SET version = $3, status = $4, data = $5, merged_into = $6, updated_at = $7"
                            " WHERE entity = $1 AND key = $2 AND version = $8 RETURNING 1",
                            *values,
                            w.expected_version,
                        )
                    if wrote is None:
                        raise _Stale
                    logged = await conn.fetchval(
                        "INSERT INTO golden_history (entity, key, change_id, system, kind, detail, at)"
                        " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (entity, change_id) DO NOTHING RETURNING 1",
                        r.entity, r.key, c.change_id, c.system, c.kind, json.dumps(c.detail, default=str), c.at or now,
                    )  # fmt: skip
                    if logged is None:  # applied meanwhile by another process: the next run sees it
                        raise _Stale
                    if w.release_held:
                        await conn.execute(
                            "UPDATE exceptions SET status = 'resolved', resolved_at = $1 WHERE status = 'open'"
                            " AND id IN (SELECT exception_id FROM golden_held WHERE entity = $2 AND key = $3)",
                            now, r.entity, r.key,
                        )  # fmt: skip
                        await conn.execute("DELETE FROM golden_held WHERE entity = $1 AND key = $2", r.entity, r.key)
                    applied = True
                return True if applied else None
        except _Stale:
            return False

    async def golden(self, entity: str, keys: Sequence[str]) -> dict[str, GoldenRecord]:
        async def op(conn: asyncpg.Connection) -> dict[str, GoldenRecord]:
            rows = await conn.fetch(
                f"SELECT {GOLDEN_COLUMNS} FROM golden WHERE entity = $1 AND key = ANY($2::text[])",
                entity,
                list(dict.fromkeys(keys)),
            )
            return {r["key"]: _record(r) for r in rows}

        return await self._read(op)

    async def golden_page(self, entity: str, after: str | None, limit: int) -> list[GoldenRecord]:
        async def op(conn: asyncpg.Connection) -> list[GoldenRecord]:
            rows = await conn.fetch(
                f"SELECT {GOLDEN_COLUMNS} FROM golden WHERE entity = $1 AND key COLLATE \"C\" > $2"
                ' ORDER BY key COLLATE "C" LIMIT $3',
                entity,
                after if after is not None else "",
                limit,
            )
            return [_record(r) for r in rows]

        return await self._read(op)

    async def write_golden(
        self,
        writes: Sequence[GoldenWrite],
        *,
        outputs: Sequence[NewWork] = (),
        cursor: tuple[str, JSON] | None = None,
    ) -> bool:
        class _Moved(Exception):
            pass

        published: list[int] = []

        async def op(conn: asyncpg.Connection) -> bool:
            now = time.time()
            published.clear()
            applied = await self._golden_writes(conn, writes, now)
            if applied is False:
                raise _Moved  # nothing at all: the cursor is not stored either
            if writes and applied is None:  # every change was applied before, with its outputs
                return True
            published.extend(await self._insert_work(conn, outputs))
            deltas: dict[str, Counter[str]] = defaultdict(Counter)
            for w in outputs:
                deltas[w.message.flow]["backlog"] += 1
                deltas[w.message.flow]["received"] += 1
            await self._store_cursor(conn, cursor, now)
            await self._add_counts(conn, deltas)
            return True

        try:
            await self._tx(op)
        except _Moved:
            return False
        if outputs:
            self._wake(published)
        return True

    async def golden_history(
        self, entity: str, key: str | None = None, *, kind: str | None = None, prefix: str | None = None
    ) -> list[GoldenChange]:
        async def op(conn: asyncpg.Connection) -> list[GoldenChange]:
            clauses, args = ["entity = $1"], [entity]
            for column, value in (("key", key), ("kind", kind)):
                if value is not None:
                    args.append(value)
                    clauses.append(f"{column} = ${len(args)}")
            if prefix is not None:
                args.append(prefix)
                clauses.append(f"left(change_id, length(${len(args)})) = ${len(args)}")
            rows = await conn.fetch(
                "SELECT entity, key, change_id, system, kind, detail, at, id FROM golden_history"
                f" WHERE {' AND '.join(clauses)} ORDER BY id",
                *args,
            )
            return [GoldenChange(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], r[7]) for r in rows]

        return await self._read(op)

    # -- exceptions --------------------------------------------------------------------
    async def retry_exception(self, exception_id: int, body: JSON = None) -> bool:
        published: list[int] = []

        async def op(conn: asyncpg.Connection) -> bool:
            published.clear()
            row = await conn.fetchrow(
                "SELECT message, position, stage FROM exceptions WHERE id = $1 AND status = 'open' FOR UPDATE",
                exception_id,
            )
            if row is None:
                return False
            msg = Message.from_json(row[0])
            if body is not None:
                msg.body = body
            now = time.time()
            published.extend(await self._insert_work(conn, [NewWork(msg, row[1], now)]))
            await self._insert_traces(
                conn, [TraceEntry(msg.id, msg.correlation_id, msg.flow, row[1], row[2], "retried", 0, msg.body, at=now)]
            )
            await conn.execute(
                "UPDATE exceptions SET status = 'retried', resolved_at = $1 WHERE id = $2", now, exception_id
            )
            await self._add_counts(conn, {msg.flow: Counter(backlog=1)})
            return True

        retried = await self._tx(op)
        if retried:
            self._wake(published)
        return retried

    async def discard_exception(self, exception_id: int) -> bool:
        async def op(conn: asyncpg.Connection) -> bool:
            status = await conn.execute(
                "UPDATE exceptions SET status = 'discarded', resolved_at = $1 WHERE id = $2 AND status = 'open'",
                time.time(),
                exception_id,
            )
            return _affected(status) == 1

        return await self._tx(op)

    # -- reads -------------------------------------------------------------------------
    async def load_cursor(self, name: str) -> JSON:
        async def op(conn: asyncpg.Connection) -> JSON:
            row = await conn.fetchrow("SELECT value FROM cursors WHERE name = $1", name)
            return None if row is None else load(row[0])

        return await self._read(op)

    @staticmethod
    async def _traces(conn: asyncpg.Connection, where: str, *args: Any, order: str = "id") -> list[TraceEntry]:
        rows = await conn.fetch(
            "SELECT message_id, correlation_id, flow, position, stage, status, attempt, input, output,"
            f" error, at FROM trace WHERE {where} ORDER BY {order}",
            *args,
        )
        return [
            TraceEntry(r[0], r[1], r[2], r[3], r[4], r[5], r[6], load(r[7]), load(r[8]), r[9], r[10]) for r in rows
        ]

    async def trace(self, message_id: str) -> list[TraceEntry]:
        return await self._read(lambda conn: self._traces(conn, "correlation_id = $1", correlation_of(message_id)))

    async def _exception(self, conn: asyncpg.Connection, row: Any, history: bool) -> ExceptionRecord:
        msg = Message.from_json(row[6])
        found = (
            await self._traces(conn, "correlation_id = $1 AND message_id = $2", msg.correlation_id, msg.id)
            if history
            else []
        )
        return ExceptionRecord(
            id=row[0], message=msg, flow=row[1], position=row[2], stage=row[3], owner=row[4], reason=row[5],
            status=row[7], created_at=row[8], history=found,
        )  # fmt: skip

    async def exceptions(
        self, *, status: str | None = "open", flow: str | None = None, owner: str | None = None
    ) -> list[ExceptionRecord]:
        async def op(conn: asyncpg.Connection) -> list[ExceptionRecord]:
            clauses, args = [], []
            for column, value in (("status", status), ("flow", flow), ("owner", owner)):
                if value is not None:
                    args.append(value)
                    clauses.append(f"{column} = ${len(args)}")
            where = " WHERE " + " AND ".join(clauses) if clauses else ""
            rows = await conn.fetch(f"SELECT {_EXC_COLUMNS} FROM exceptions{where} ORDER BY id", *args)
            return [await self._exception(conn, r, history=False) for r in rows]

        return await self._read(op)

    async def get_exception(self, exception_id: int) -> ExceptionRecord | None:
        async def op(conn: asyncpg.Connection) -> ExceptionRecord | None:
            row = await conn.fetchrow(f"SELECT {_EXC_COLUMNS} FROM exceptions WHERE id = $1", exception_id)
            return None if row is None else await self._exception(conn, row, history=True)

        return await self._read(op)

    async def counts(self) -> list[FlowCounts]:
        async def op(conn: asyncpg.Connection) -> list[FlowCounts]:
            rows = await conn.fetch(
                "SELECT flow, sum(received), sum(delivered), sum(exceptions) FROM counters GROUP BY flow"
                " HAVING sum(received) > 0 OR sum(delivered) > 0 OR sum(exceptions) > 0 ORDER BY flow COLLATE \"C\""
            )
            return [FlowCounts(r[0], int(r[1]), int(r[2]), int(r[3])) for r in rows]

        return await self._read(op)

    async def daily_counts(self, since: str | None = None, until: str | None = None) -> list[DayCounts]:
        async def op(conn: asyncpg.Connection) -> list[DayCounts]:
            rows = await conn.fetch(
                "SELECT flow, day, sum(received), sum(delivered), sum(exceptions) FROM flow_days"
                " WHERE day >= $1 AND day <= $2 GROUP BY flow, day ORDER BY day, flow COLLATE \"C\"",
                since or "",
                until or "9999-12-31",
            )
            return [DayCounts(r[0], r[1], int(r[2]), int(r[3]), int(r[4])) for r in rows]

        return await self._read(op)

    async def pending(self) -> int:
        return int(await self._read(lambda conn: conn.fetchval("SELECT coalesce(sum(backlog), 0) FROM counters")))

    async def backlog(self) -> dict[str, int]:
        async def op(conn: asyncpg.Connection) -> dict[str, int]:
            rows = await conn.fetch("SELECT flow, sum(backlog) FROM counters GROUP BY flow HAVING sum(backlog) > 0")
            return {r[0]: int(r[1]) for r in rows}

        return await self._read(op)

    # -- the cluster: leader leases and config versions ---------------------------------
    async def lead(self, name: str, holder: str, seconds: float, *, now: float | None = None) -> bool:
        async def op(conn: asyncpg.Connection) -> bool:
            row = await conn.fetchval(
                f"WITH now AS (SELECT coalesce($4::float8, {_NOW}) AS t)"
                " INSERT INTO leaders (name, holder, until) SELECT $1, $2, t + $3 FROM now"
                " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until"
                " WHERE leaders.holder = excluded.holder OR leaders.until <= (SELECT t FROM now) RETURNING 1",
                name,
                holder,
                seconds,
                now,
            )
            return row is not None

        return await self._read(op)

    async def resign(self, name: str, holder: str) -> None:
        async def op(conn: asyncpg.Connection) -> None:
            await conn.execute("DELETE FROM leaders WHERE name = $1 AND holder = $2", name, holder)

        await self._read(op)

    async def publish_config(self, digest: str, text: str, by: str) -> ConfigVersion:
        async def op(conn: asyncpg.Connection) -> ConfigVersion:
            await conn.execute("LOCK TABLE config_versions IN SHARE ROW EXCLUSIVE MODE")
            row = await conn.fetchrow(
                "SELECT version, hash, text, published_by, at FROM config_versions ORDER BY version DESC LIMIT 1"
            )
            if row is not None and row["hash"] == digest:
                return ConfigVersion(*row)
            row = await conn.fetchrow(
                "INSERT INTO config_versions (hash, text, published_by, at) VALUES ($1, $2, $3, $4)"
                " RETURNING version, hash, text, published_by, at",
                digest,
                text,
                by,
                time.time(),
            )
            return ConfigVersion(*row)

        version = await self._tx(op)
        self._notify("config")
        return version

    async def latest_config(self) -> ConfigVersion | None:
        async def op(conn: asyncpg.Connection) -> ConfigVersion | None:
            row = await conn.fetchrow(
                "SELECT version, hash, text, published_by, at FROM config_versions ORDER BY version DESC LIMIT 1"
            )
            return None if row is None else ConfigVersion(*row)

        return await self._read(op)

    # == API tokens and the audit log ==================================================
    async def create_token(self, name: str, role: Role, token_hash: str, created_by: str) -> ApiToken:
        async def op(conn: asyncpg.Connection) -> ApiToken:
            now = time.time()
            try:
                token_id = await conn.fetchval(
                    "INSERT INTO api_tokens (name, role, token_hash, created_at, created_by)"
                    " VALUES ($1, $2, $3, $4, $5) RETURNING id",
                    name, role, token_hash, now, created_by,
                )  # fmt: skip
            except asyncpg.UniqueViolationError:
                raise ValueError(f"a token named {name!r} exists; revoke it first or choose another name") from None
            return ApiToken(token_id, name, role, now, created_by)

        return await self._tx(op)

    async def tokens(self, *, revoked: bool = False) -> list[ApiToken]:
        where = "" if revoked else " WHERE revoked_at IS NULL"
        rows = await self._read(lambda conn: conn.fetch(f"SELECT {_TOKEN_COLUMNS} FROM api_tokens{where} ORDER BY id"))
        return [ApiToken(*r) for r in rows]

    async def token_by_hash(self, token_hash: str) -> ApiToken | None:
        row = await self._read(
            lambda conn: conn.fetchrow(
                f"SELECT {_TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL", token_hash
            )
        )
        return None if row is None else ApiToken(*row)

    async def revoke_token(self, name: str) -> bool:
        async def op(conn: asyncpg.Connection) -> bool:
            status = await conn.execute(
                "UPDATE api_tokens SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL", time.time(), name
            )
            return _affected(status) > 0

        return await self._tx(op)

    async def record_audit(self, entry: AuditEntry) -> None:
        async def op(conn: asyncpg.Connection) -> None:
            await conn.execute(
                "INSERT INTO audit (at, actor, action, target, outcome, detail) VALUES ($1, $2, $3, $4, $5, $6)",
                entry.at or time.time(), entry.actor, entry.action, entry.target, entry.outcome, dump(entry.detail),
            )  # fmt: skip

        await self._tx(op)

    async def audit_log(self, *, limit: int = 100, actor: str | None = None) -> list[AuditEntry]:
        where, args = ("WHERE actor = $2 ", [actor]) if actor is not None else ("", [])
        rows = await self._read(
            lambda conn: conn.fetch(
                f"SELECT actor, action, target, outcome, detail, at, id FROM audit {where}ORDER BY id DESC LIMIT $1",
                limit,
                *args,
            )
        )
        return [AuditEntry(r[0], r[1], r[2], r[3], json.loads(r[4]) if r[4] else {}, r[5], r[6]) for r in rows]

    # -- console sessions and the console's reads --------------------------------------
    async def create_session(self, session_hash: str, token_id: int, csrf: str, expires_at: float) -> None:
        async def op(conn: asyncpg.Connection) -> None:
            now = time.time()
            await conn.execute("DELETE FROM console_sessions WHERE expires_at <= $1", now)
            await conn.execute(
                "INSERT INTO console_sessions (session_hash, token_id, csrf, created_at, expires_at)"
                " VALUES ($1, $2, $3, $4, $5)",
                session_hash, token_id, csrf, now, expires_at,
            )  # fmt: skip

        await self._tx(op)

    async def session(self, session_hash: str, now: float) -> tuple[ApiToken, str] | None:
        columns = ", ".join(f"t.{c}" for c in _TOKEN_COLUMNS.split(", "))
        row = await self._read(
            lambda conn: conn.fetchrow(
                f"SELECT {columns}, s.csrf FROM console_sessions s JOIN api_tokens t ON t.id = s.token_id"
                " WHERE s.session_hash = $1 AND s.expires_at > $2 AND t.revoked_at IS NULL",
                session_hash,
                now,
            )
        )
        return None if row is None else (ApiToken(*list(row)[:-1]), row[-1])

    async def end_session(self, session_hash: str) -> None:
        async def op(conn: asyncpg.Connection) -> None:
            await conn.execute(
                "DELETE FROM console_sessions WHERE session_hash = $1 OR expires_at <= $2", session_hash, time.time()
            )

        await self._tx(op)

    async def recent_messages(self, *, flow: str | None = None, limit: int = 50) -> list[TraceEntry]:
        where, args = ("stage = 'received' AND flow = $2", (flow,)) if flow else ("stage = 'received'", ())
        return await self._read(
            lambda conn: self._traces(conn, where, max(0, limit), *args, order="id DESC LIMIT $1")
        )


async def migrate(conn: asyncpg.Connection, schema: str) -> None:
    """Bring `schema` up to SCHEMA_VERSION (creating it when missing), one transaction per step,
    under an advisory lock so that processes starting together migrate once."""
    lock = f"interlace:migrate:{schema}"
    await conn.execute("SELECT pg_advisory_lock(hashtext($1))", lock)
    try:
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        await conn.execute(f'CREATE TABLE IF NOT EXISTS "{schema}".schema_version (version integer NOT NULL)')
        version = await conn.fetchval(f'SELECT max(version) FROM "{schema}".schema_version')
        if version is None:
            await conn.execute(f'INSERT INTO "{schema}".schema_version VALUES (0)')
            version = 0
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"PostgreSQL schema {schema}: the store is at schema version {version}, newer than this Interlace"
                f" knows ({SCHEMA_VERSION}); run the Interlace that wrote it, or a newer one"
            )
        for number in range(version + 1, SCHEMA_VERSION + 1):
            async with conn.transaction():
                await conn.execute(MIGRATIONS[number - 1])
                await conn.execute(f'UPDATE "{schema}".schema_version SET version = $1', number)
    finally:
        await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", lock)
