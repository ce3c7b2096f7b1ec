"""RabbitMQ as the bus, PostgreSQL as the store: `store: postgresql://...` with `bus: amqp://...`.

The store stays the record of truth. Every work item is a row of the PostgreSQL backend's `work`
table (message, position, attempts, lease), written in the same transactions as there (messages,
settles, outputs, traces, deliveries' counts); the bus carries only the items' ids, one AMQP
message each, on a quorum queue, and the broker pushes them to the workers instead of the
workers polling the table. This backend is that store with the queue's four calls (enqueue's
publish, lease, extend, settle's ack) moved onto the bus: a subclass, because the rows a bus is
to carry are marked in the store's own transactions.

- Publishing: a row due now is inserted marked as on the bus (`lease_owner = '~bus'`, due again
  after `grace` seconds); after the commit its id is published with publisher confirms, and once
  the broker confirmed it the mark stands for good (`available_at = infinity`). When a publish
  fails, or the process dies before the confirm, the row falls due and the relay publishes it.
- The relay (in every process, twice a second and when woken) publishes the rows that are due
  and on no bus: an item whose retry time came, an item whose publish was never confirmed, an
  item whose lease ran out long ago. Retries wait in the store, to the moment: a per-message TTL
  in RabbitMQ expires only at a queue's head, so a 5-minute backoff would hold up a 1-second one.
- Ids travel up to 25 to a message (a quorum queue confirms a few hundred messages a second on
  a small busy machine); a message is acked once all its ids are, and one that comes back after
  its consumer went away is split into a message per id.
- Consuming: manual acks, `prefetch` messages in hand per process. A lease claims the delivered
  ids in PostgreSQL (one UPDATE: rows on the bus, or whose lease ran out). A delivery whose row is gone
  was settled already (a redelivery): it is acked and skipped, so a sink sees an item once more
  at most, and recognises it by its delivery id. A delivery whose row another worker holds waits
  for that lease to end, then claims it: a killed worker's items are taken over after the lease,
  as on the PostgreSQL backend. An id is acked on the bus only after its settle committed.
- Poison: the work queue dead-letters an id delivered more than `delivery_limit` times (each time
  its consumer went away holding it: a worker killed, crashed or cut off) through the default
  exchange into `<queue>.poison`, at least once; that queue's consumer parks the item as an
  exception, so a message that kills its workers stops at the limit instead of killing them all.
- A broker restart: each process reconnects (backing off up to 5 s), declares and consumes again;
  deliveries of the lost channel are dropped (the broker delivers them again) and unconfirmed
  publishes are published by the relay. Nothing acknowledged is lost: PostgreSQL holds it all.

The bus URL: `amqp://user:password@host:port/vhost?queue=NAME&prefetch=N&delivery_limit=N&grace=S`;
`queue` defaults to `interlace.<schema>` (one queue per store), `prefetch` (messages in hand per
process) to 32.

Built on aiormq (the AMQP layer under aio-pika): the bus's hot paths are one small publish and one
ack per item, where aio-pika's per-message objects cost CPU (docs/brokers.md measures both).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import aiormq
import asyncpg
from aiormq.abc import DeliveredMessage
from pamqp import commands as spec

from interlace.backends.base import ParkedException, Settle, TraceEntry, WorkItem
from interlace.backends.postgresql import _NOW, PostgresBackend
from interlace.message import Message

log = logging.getLogger("interlace.backends.rabbitmq")

BUS = "~bus"
"""The `lease_owner` of a row the bus carries (no worker's name starts with `~`)."""

RELAY_EVERY = 0.5
"""Seconds between the relay's looks for due rows on no bus."""

RELAY_BATCH = 500

ID_BATCH = 25
"""Most work item ids in one AMQP message: a quorum queue confirms a few hundred messages a second
on a busy small machine, so ids travel together (a message that comes back after its consumer
went away is split into one message per id, so that the poison count is each item's own)."""

STRAY = 60.0
"""Seconds past its end after which a lapsed lease's row is published again by the relay (its
delivery normally claims it first, at the lease's end)."""

WAIT = 2.0
"""Seconds an empty lease waits for ids the store says the bus carries (the broker pushes them)."""

GAP = 0.02
"""Seconds an empty lease, once ids arrive, waits for the next before it takes what came."""

RECHECK = 2.0
"""Seconds at most between looks at a row another worker holds, for a delivery waiting on it."""


def parse_bus_url(url: str, schema: str) -> tuple[str, str, int, int, float]:
    """(AMQP URL, queue, prefetch, delivery limit, publish grace) of a bus URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("amqp", "amqps"):
        raise ValueError(f"bus URL {url!r}: expected amqp://[user:password@]host[:port][/vhost]")
    query = dict(parse_qsl(parts.query))
    queue = query.pop("queue", f"interlace.{schema}")
    try:
        prefetch = int(query.pop("prefetch", "32"))
        limit = int(query.pop("delivery_limit", "10"))
        grace = float(query.pop("grace", "30"))
    except ValueError as exc:
        raise ValueError(f"bus URL {url!r}: prefetch, delivery_limit and grace are numbers ({exc})") from None
    if prefetch < 1 or limit < 1 or grace <= 0:
        raise ValueError(f"bus URL {url!r}: prefetch and delivery_limit are at least 1, grace above 0")
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), "")), queue, prefetch, limit, grace


def queue_arguments(queue: str, delivery_limit: int) -> dict[str, Any]:
    """The work queue's: a quorum queue that dead-letters what was delivered too often, at least
    once (which RabbitMQ allows only with `reject-publish` on overflow)."""
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": delivery_limit,
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": f"{queue}.poison",
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


@dataclass(slots=True)
class _Amqp:
    """One AMQP message: the ids of up to ID_BATCH work items, acked once every one is resolved
    (settled, found settled, or left to the relay)."""

    tag: int
    generation: int
    """The connection it came on: its tag means nothing on another."""
    left: int


@dataclass(slots=True)
class _Delivery:
    """One work item's id, as a message of the bus brought it."""

    id: int
    amqp: _Amqp

    @property
    def generation(self) -> int:
        return self.amqp.generation


@dataclass(slots=True)
class _Held:
    delivery: _Delivery
    owner: str
    until: float
    """When the lease runs out by this process's monotonic clock."""


class RabbitBackend(PostgresBackend):
    def __init__(self, url: str, bus: str, *, durable: str = "full") -> None:
        super().__init__(url, durable=durable)
        self.bus_url, self.queue, self.prefetch, self.delivery_limit, self.grace = parse_bus_url(bus, self.schema)
        self._conn: aiormq.abc.AbstractConnection | None = None
        self._pub: aiormq.abc.AbstractChannel | None = None
        self._sub: aiormq.abc.AbstractChannel | None = None
        self._generation = 0
        self._reset()

    def _reset(self) -> None:
        self._ready: deque[_Delivery] = deque()
        self._waiting: list[tuple[float, _Delivery]] = []
        self._held: dict[int, _Held] = {}
        self._poison: deque[_Delivery] = deque()
        self._to_publish: list[int] = []
        self._arrived = asyncio.Event()
        self._publish_wake = asyncio.Event()
        self._relay_wake = asyncio.Event()
        self._poison_wake = asyncio.Event()
        self._bus_tasks: list[asyncio.Task[None]] = []
        self._splits: set[asyncio.Task[None]] = set()
        self._closing = False
        self._consuming = False
        self._warned = -10.0

    # -- connections -------------------------------------------------------------------
    async def open(self) -> None:
        await super().open()
        self._reset()
        try:
            await self._connect()
        except Exception as exc:
            await super().close()
            raise ConnectionError(f"bus {self._shown()}: {type(exc).__name__}: {exc}") from exc
        for loop in (self._supervise, self._publisher, self._relay, self._poison_loop):
            self._bus_tasks.append(asyncio.create_task(loop(), name=f"bus{loop.__name__}"))

    def _shown(self) -> str:
        parts = urlsplit(self.bus_url)
        host = parts.netloc.rsplit("@", 1)[-1]  # no password in a message
        return f"{parts.scheme}://{host}{parts.path} queue {self.queue}"

    async def close(self) -> None:
        self._closing = True
        with contextlib.suppress(Exception):  # what is not published now, the relay publishes later
            await asyncio.wait_for(self._flush(), 5)
        for task in [*self._bus_tasks, *self._splits]:
            task.cancel()
        await asyncio.gather(*self._bus_tasks, *self._splits, return_exceptions=True)
        self._bus_tasks = []
        conn, self._conn, self._pub, self._sub = self._conn, None, None, None
        self._generation += 1
        if conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 5)
        await super().close()

    def alive(self) -> bool:
        return super().alive() and all(not t.done() for t in self._bus_tasks)

    async def _connect(self) -> None:
        conn = await aiormq.connect(self.bus_url)
        try:
            pub = await conn.channel(publisher_confirms=True)
            await pub.queue_declare(f"{self.queue}.poison", durable=True, arguments={"x-queue-type": "quorum"})
            arguments = queue_arguments(self.queue, self.delivery_limit)
            await pub.queue_declare(self.queue, durable=True, arguments=arguments)
            sub = await conn.channel(publisher_confirms=False)
            self._generation += 1
            if self._consuming:
                await self._consume(sub)
        except BaseException:
            with contextlib.suppress(Exception):
                await conn.close()
            raise
        self._conn, self._pub, self._sub = conn, pub, sub

    async def _consume(self, sub: aiormq.abc.AbstractChannel) -> None:
        """Take deliveries on `sub`: from the first lease on (a process that never leases, such
        as `interlace serve`, would only sit on the ids the broker pushed to it)."""
        await sub.basic_qos(prefetch_count=self.prefetch)
        generation = self._generation
        await sub.basic_consume(self.queue, partial(self._delivered, generation, self._ready, self._arrived))
        await sub.basic_consume(
            f"{self.queue}.poison", partial(self._delivered, generation, self._poison, self._poison_wake)
        )

    async def _supervise(self) -> None:
        """Connect again whenever the connection is lost (a broker restart, a network cut)."""
        wait = 0.2
        while not self._closing:
            conn = self._conn
            if conn is not None:
                await asyncio.wait([conn.closing])
                if self._closing:
                    return
                log.warning("lost the bus %s; connecting again", self._shown())
                self._lost()
            try:
                await self._connect()
            except Exception as exc:
                log.warning("could not connect to the bus %s (%s); again in %.1fs", self._shown(), exc, wait)
                await asyncio.sleep(wait)
                wait = min(wait * 2, 5.0)
                continue
            wait = 0.2
            log.info("connected to the bus %s again", self._shown())
            self._relay_wake.set()

    def _lost(self) -> None:
        """The connection is gone, and with it every delivery it brought: the broker delivers
        them again. Items being run keep their leases in the store and settle there."""
        self._conn = self._pub = self._sub = None
        self._generation += 1
        self._ready.clear()
        self._waiting.clear()
        self._poison.clear()

    async def _delivered(
        self, generation: int, into: deque[_Delivery], wake: asyncio.Event, message: DeliveredMessage
    ) -> None:
        tag = message.delivery_tag
        if generation != self._generation or tag is None:
            return
        try:
            ids = [int(i) for i in message.body.split(b",")]
        except ValueError:
            log.warning("dropped a message on %s that is no work item id: %r", self.queue, message.body[:80])
            ids = []
        amqp = _Amqp(tag, generation, len(ids))
        if not ids:
            await self._ack(_Delivery(0, _Amqp(tag, generation, 1)))
            return
        if len(ids) > 1 and message.redelivered and into is self._ready:
            task = asyncio.create_task(self._split(ids, amqp))
            self._splits.add(task)
            task.add_done_callback(self._splits.discard)
            return
        into.extend(_Delivery(i, amqp) for i in ids)
        wake.set()
        if into is self._ready and self.on_new_work is not None:
            self.on_new_work()

    async def _split(self, ids: list[int], amqp: _Amqp) -> None:
        """A message of several ids came back (its consumer went away holding it): publish each id
        on its own, then ack it; when the bus refuses, take the ids as they came."""
        if await self._publish(ids, per_message=1):  # some not confirmed: run them from this message
            self._ready.extend(_Delivery(i, amqp) for i in ids)
            self._arrived.set()
            return
        log.info("a message of %d work item ids came back to the bus: published again one id a message", len(ids))
        amqp.left = 1
        await self._ack(_Delivery(0, amqp))

    async def _ack(self, d: _Delivery) -> None:
        """This id is resolved: ack its message once every id of it is."""
        amqp = d.amqp
        amqp.left -= 1
        if amqp.left > 0:
            return
        sub = self._sub
        if sub is None or amqp.generation != self._generation:
            return  # that channel is gone: the broker has the message back
        try:
            await sub.basic_ack(amqp.tag, wait=False)
        except Exception:
            log.debug("ack of %s lost with its channel", d.id)

    # -- publishing --------------------------------------------------------------------
    async def _insert_work(self, conn: asyncpg.Connection, work: Sequence[Any]) -> list[int]:
        """Insert work rows: those due now marked as on the bus (due again after `grace` unless
        the broker confirms them), the others (a retry due later) left for the relay."""
        if not work:
            return []
        rows = await conn.fetch(
            "INSERT INTO work (flow, position, message, attempts, available_at, lease_owner)"
            " SELECT f, p, m, a, CASE WHEN t <= now.n THEN now.n + $6 ELSE t END, CASE WHEN t <= now.n THEN $7 END"
            " FROM unnest($1::text[], $2::int[], $3::text[], $4::int[], $5::float8[]) AS u(f, p, m, a, t),"
            f" (SELECT {_NOW} AS n) AS now RETURNING id, lease_owner",
            [w.message.flow for w in work],
            [w.position for w in work],
            [w.message.to_json() for w in work],
            [w.attempts for w in work],
            [max(w.available_at, 0.0) for w in work],
            self.grace,
            BUS,
        )
        return [r[0] for r in rows if r[1] == BUS]

    def _wake(self, published: Sequence[int] = ()) -> None:
        if published:
            self._to_publish.extend(published)
            self._publish_wake.set()
        else:  # rows due again at once (a stale golden read): the relay publishes them
            self._relay_wake.set()

    async def _publish(self, ids: Sequence[int], per_message: int = ID_BATCH) -> list[int]:
        """Publish the ids, `per_message` to a message (persistent, confirmed); the ids the
        broker did not confirm."""
        channel = self._pub
        if channel is None:
            return list(ids)
        failed: list[int] = []
        messages = [ids[i : i + per_message] for i in range(0, len(ids), per_message)]
        for start in range(0, len(messages), 1000):
            chunk = messages[start : start + 1000]
            answers = await asyncio.gather(
                *(
                    channel.basic_publish(
                        b",".join(str(i).encode() for i in m),
                        routing_key=self.queue,
                        properties=spec.Basic.Properties(delivery_mode=2, message_id=str(m[0])),
                    )
                    for m in chunk
                ),
                return_exceptions=True,
            )
            for m, answer in zip(chunk, answers, strict=True):
                if not isinstance(answer, spec.Basic.Ack):
                    failed.extend(m)
        return failed

    async def _flush(self) -> None:
        ids, self._to_publish = self._to_publish, []
        await self._publish_marked(ids)

    async def _publish_marked(self, ids: Sequence[int]) -> bool:
        """Publish rows marked as on the bus; the broker's confirm makes the mark stand for good,
        its refusal (or no bus) makes them due now, for the relay. False when some failed."""
        if not ids:
            return True
        failed = await self._publish(ids)
        confirmed = sorted(set(ids) - set(failed))

        async def op(conn: asyncpg.Connection) -> None:
            if confirmed:  # on the bus for good (unless a worker took the row meanwhile)
                await conn.execute(
                    "UPDATE work SET available_at = 'Infinity' WHERE id = ANY($1::bigint[]) AND lease_owner = $2",
                    confirmed,
                    BUS,
                )
            if failed:
                await conn.execute(
                    f"UPDATE work SET lease_owner = NULL, available_at = {_NOW}"
                    " WHERE id = ANY($1::bigint[]) AND lease_owner = $2",
                    sorted(failed),
                    BUS,
                )

        await self._read(op)
        if failed:  # once in a while, not once per enqueue of an outage
            now = time.monotonic()
            level = logging.WARNING if now - self._warned >= 10 else logging.DEBUG
            self._warned = now if level == logging.WARNING else self._warned
            log.log(level, "the bus did not confirm %d work items; the relay publishes them again", len(failed))
        return not failed

    async def _publisher(self) -> None:
        while True:
            await self._publish_wake.wait()
            self._publish_wake.clear()
            try:
                await self._flush()
            except Exception:  # the rows fall due after `grace`, and the relay publishes them
                log.warning("could not publish work items to the bus", exc_info=True)

    async def _relay(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._relay_wake.wait(), RELAY_EVERY)
            self._relay_wake.clear()
            if self._pub is None:
                continue
            try:
                while await self._relay_once() == RELAY_BATCH:
                    pass
            except Exception:
                log.warning("the relay could not publish due work items", exc_info=True)

    async def _relay_once(self) -> int:
        """Mark due rows on no bus as on the bus (committed first, as an enqueue does, so that a
        worker handed one finds it claimable), then publish them."""
        rows = await self._read(
            lambda conn: conn.fetch(
                f"WITH now AS (SELECT {_NOW} AS t), due AS (SELECT id FROM work"
                " WHERE available_at <= (SELECT t FROM now) AND (lease_owner IS NULL OR lease_owner = $3"
                " OR available_at <= (SELECT t FROM now) - $1) ORDER BY available_at LIMIT $2 FOR UPDATE SKIP LOCKED)"
                " UPDATE work SET lease_owner = $3, available_at = (SELECT t FROM now) + $4 FROM due"
                " WHERE work.id = due.id RETURNING work.id",
                STRAY,
                RELAY_BATCH,
                BUS,
                self.grace,
            )
        )
        if not await self._publish_marked([r[0] for r in rows]):
            return 0  # the bus refuses: try again at the next look, not at once
        return len(rows)

    # -- leasing -----------------------------------------------------------------------
    def _pick(self, limit: int) -> tuple[list[_Delivery], list[_Delivery]]:
        """(deliveries to claim: those whose wait is over first, then new ones; deliveries of
        items held here whose lease ran out)."""
        now = time.monotonic()
        picked: list[_Delivery] = []
        if self._waiting:
            still: list[tuple[float, _Delivery]] = []
            for due, d in self._waiting:
                if due <= now and len(picked) < limit:
                    picked.append(d)
                else:
                    still.append((due, d))
            self._waiting = still
        while self._ready and len(picked) < limit:
            picked.append(self._ready.popleft())
        lapsed = [h.delivery for h in self._held.values() if h.until <= now][: max(0, limit - len(picked))]
        return picked, lapsed

    async def _expected(self, limit: int) -> int:
        """How many items (up to `limit`) the bus carries unclaimed, or the relay is to publish
        now (it is woken): what an empty lease waits for."""
        row = await self._read(
            lambda conn: conn.fetchrow(
                f"WITH now AS (SELECT {_NOW} AS t) SELECT"
                " (SELECT count(*) FROM (SELECT 1 FROM work WHERE lease_owner = $1 LIMIT $3) b),"
                " (SELECT count(*) FROM (SELECT 1 FROM work WHERE available_at <= (SELECT t FROM now)"
                " AND (lease_owner IS NULL OR available_at <= (SELECT t FROM now) - $2) LIMIT $3) d)",
                BUS,
                STRAY,
                limit,
            )
        )
        if row[1]:
            self._relay_wake.set()
        return int(row[0]) + int(row[1])

    async def _gather(self, expected: int) -> None:
        """Wait for deliveries: up to WAIT for the first, then while the next comes within GAP,
        until `expected` are in hand (fewer come when other processes' consumers take some)."""
        deadline = time.monotonic() + WAIT
        gap = WAIT
        while len(self._ready) < expected:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), min(left, gap))
            except TimeoutError:
                return
            gap = GAP

    async def lease(self, owner: str, limit: int, seconds: float) -> list[WorkItem]:
        if not self._consuming:
            self._consuming = True
            if self._sub is not None:
                await self._consume(self._sub)
        picked, lapsed = self._pick(limit)
        if not picked and not lapsed:
            expected = await self._expected(limit)
            if not expected:
                return []
            await self._gather(expected)
            picked, lapsed = self._pick(limit)
            if not picked and not lapsed:
                return []
        try:
            return await self._claim(owner, picked, lapsed, seconds)
        except BaseException:
            self._ready.extendleft(reversed(picked))
            raise

    async def _claim(
        self, owner: str, picked: list[_Delivery], lapsed: list[_Delivery], seconds: float
    ) -> list[WorkItem]:
        """Claim the delivered ids in the store: a row on the bus, or whose lease ran out, is
        this owner's now. For the others: a row gone was settled (ack), a row on no bus is the
        relay's (ack), a row another worker holds is waited on."""
        by_id: dict[int, _Delivery] = {}
        extra: list[_Delivery] = []
        for d in [*lapsed, *picked]:
            if d.id in by_id:
                extra.append(d)  # a second delivery of one id: the first stands for it
            else:
                by_id[d.id] = d
        ids = sorted(by_id)

        async def op(conn: asyncpg.Connection) -> tuple[list[Any], list[Any]]:
            # rows locked by a settle or by the relay publishing them are passed over, not waited on
            rows = await conn.fetch(
                f"WITH now AS (SELECT {_NOW} AS t), free AS (SELECT id FROM work WHERE id = ANY($1::bigint[])"
                " AND (lease_owner = $4 OR available_at <= (SELECT t FROM now)) FOR UPDATE SKIP LOCKED)"
                " UPDATE work SET lease_owner = $2, available_at = (SELECT t FROM now) + $3 FROM free"
                " WHERE work.id = free.id RETURNING work.id, work.message, work.position, work.attempts",
                ids,
                owner,
                seconds,
                BUS,
            )
            missed = sorted(set(ids) - {r[0] for r in rows})
            others = []
            if missed:
                others = await conn.fetch(
                    f"SELECT id, lease_owner, available_at - {_NOW} FROM work WHERE id = ANY($1::bigint[])", missed
                )
            return rows, others

        rows, others = await self._read(op)
        now = time.monotonic()
        items: list[WorkItem] = []
        for r in sorted(rows, key=lambda r: r[0]):
            d = by_id.pop(r[0])
            before = self._held.get(r[0])
            if before is not None and before.delivery is not d:
                extra.append(before.delivery)  # its item is this delivery's now
            self._held[r[0]] = _Held(d, owner, now + seconds)
            items.append(WorkItem(r[0], Message.from_json(r[1]), r[2], r[3], owner))
        for item_id, holder, left in others:
            d = by_id.pop(item_id)
            held = self._held.get(item_id)
            if held is not None and held.delivery is d:
                held.until = now + max(float(left), 0.05)  # extended meanwhile: not lapsed after all
            elif holder is None:
                extra.append(d)  # the relay publishes it when it is due
            else:
                self._waiting.append((now + min(max(float(left), 0.05), RECHECK), d))
        for item_id, d in by_id.items():  # gone: settled already (a redelivery)
            held = self._held.get(item_id)
            if held is not None and held.delivery is d:
                del self._held[item_id]
            extra.append(d)
        for d in extra:
            await self._ack(d)
        return items

    async def extend(self, owner: str, ids: Sequence[int], seconds: float) -> None:
        await super().extend(owner, ids, seconds)
        until = time.monotonic() + seconds
        for i in ids:
            held = self._held.get(i)
            if held is not None and held.owner == owner:
                held.until = until

    async def settle(self, outcomes: Sequence[Settle]) -> list[bool]:
        try:
            done = await super().settle(outcomes)
        except BaseException:
            # nothing committed: the items stay leased in the store until their leases end, when
            # their deliveries claim them again
            for s in outcomes:
                held = self._held.get(s.item.id)
                if held is not None and held.owner == s.item.lease_owner:
                    del self._held[s.item.id]
                    self._waiting.append((held.until, held.delivery))
            raise
        for s in outcomes:
            held = self._held.get(s.item.id)
            if held is not None and held.owner == s.item.lease_owner:
                del self._held[s.item.id]
                await self._ack(held.delivery)
        return done

    # -- poison ------------------------------------------------------------------------
    async def _poison_loop(self) -> None:
        later: list[tuple[float, _Delivery]] = []
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poison_wake.wait(), RECHECK)
            self._poison_wake.clear()
            now = time.monotonic()
            due, later = [d for t, d in later if t <= now], [(t, d) for t, d in later if t > now]
            while self._poison:
                due.append(self._poison.popleft())
            for d in due:
                if d.generation != self._generation:
                    continue
                try:
                    wait = await self._park_poison(d)
                except Exception:
                    log.warning("could not park poison item %s; trying again", d.id, exc_info=True)
                    wait = RECHECK
                if wait is None:
                    await self._ack(d)
                else:
                    later.append((time.monotonic() + min(wait, RECHECK), d))

    async def _park_poison(self, d: _Delivery) -> float | None:
        """Park a dead-lettered item as an exception (None: done, or nothing to do); the seconds
        to wait while a worker still holds it."""

        async def op(conn: asyncpg.Connection) -> float | None:
            row = await conn.fetchrow(
                f"SELECT message, position, lease_owner, available_at - {_NOW} FROM work WHERE id = $1 FOR UPDATE",
                d.id,
            )
            if row is None or row[2] is None:  # settled, or waiting for its retry on no bus
                return None
            if row[2] != BUS and row[3] > 0:
                return float(row[3])
            msg = Message.from_json(row[0])
            reason = (
                f"poison: delivered more than {self.delivery_limit} times, and each time the worker holding it went"
                " away before settling it (killed, crashed or cut off from the bus)"
            )
            now = time.time()
            await conn.execute("DELETE FROM work WHERE id = $1", d.id)
            await self._park(conn, ParkedException(msg, row[1], "(worker lost)", None, reason), now)
            await self._insert_traces(
                conn,
                [TraceEntry(msg.id, msg.correlation_id, msg.flow, row[1], "(worker lost)", "failed", error=reason)],
            )
            await self._add_counts(conn, {msg.flow: Counter(backlog=-1, exceptions=1)})
            log.warning("parked poison item %s of flow %s: %s", d.id, msg.flow, reason)
            return None

        return await self._tx(op)
