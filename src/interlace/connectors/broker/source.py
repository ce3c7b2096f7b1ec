"""The loop every broker source runs: take a batch from the broker, commit it to the hub's store,
and only then acknowledge it to the broker.

- Nothing is acknowledged before `Ingress.submit` returns, that is before the batch is durable in
  the store: a crash (of the hub or of the broker) before that leaves the messages with the broker,
  which delivers them again. A crash between the commit and the ack delivers them again too; the
  idempotency key (the broker's own message id, see `dedupe`) makes that second submission a no-op.
- While the flow is full (`Backpressure`, or `submit` waiting on the flow's bound), the source
  takes nothing more: at most `prefetch` messages are out of the broker and unacknowledged, the
  rest stay queued at the broker. `keepalive` tells brokers with an ack deadline (JetStream) that
  the held batch is still being worked on.
- A lost connection is not the end of the source: it reconnects with a doubling wait, and what
  was taken but not acknowledged is delivered again by the broker.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from abc import abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from interlace.connectors.base import Incoming, Ingress, Source
from interlace.connectors.broker.payload import Format, decode, digest
from interlace.errors import Backpressure

log = logging.getLogger("interlace.connectors.broker")

RECONNECT = (0.1, 5.0)
"""First and longest wait before a source reconnects; doubled on each failure in a row."""
HEALTHY = 30.0
"""A source that consumed this long before failing starts its waits from the first again."""


def make_incoming(
    payload: bytes,
    fmt: Format,
    *,
    event: str | None,
    headers: dict[str, str],
    broker_id: str | None,
    dedupe: str,
    prefix: str,
    key: str | None = None,
) -> Incoming:
    """The hub's record of one broker message. `broker_id`: the broker's own stable id of it (a
    stream position, a message-id property), used as the idempotency key under `dedupe: auto`."""
    body, problems = decode(payload, fmt)
    if problems:
        headers = {**headers, **problems}
    idem: str | None = None
    if dedupe == "auto" and broker_id is not None:
        idem = f"{prefix}:{broker_id}"
    elif dedupe == "content":
        idem = f"{prefix}:sha:{digest(payload, headers)}"
    return Incoming(body=body, event=event, key=key, headers=headers, idempotency_key=idem)


_rng = random.Random()


def wait_before(failures: int) -> float:
    """The wait before reconnecting after `failures` failures in a row, jittered by +-20%."""
    first, longest = RECONNECT
    return float(min(longest, first * 2.0**failures) * _rng.uniform(0.8, 1.2))


async def commit(
    ingress: Ingress,
    flow: str,
    items: Sequence[Incoming],
    *,
    keepalive: Callable[[], Awaitable[None]] | None = None,
    every: float = 5.0,
) -> None:
    """Submit `items` until they are durable. While the flow is full this waits (and calls
    `keepalive` every `every` seconds): it never gives up and never drops."""
    while True:
        task = asyncio.ensure_future(ingress.submit(flow, items))
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=every if keepalive is not None else None)
                if done:
                    break
                assert keepalive is not None
                await keepalive()
            task.result()
            return
        except Backpressure as exc:  # an ingress that refuses rather than waits: wait, then again
            log.debug("flow %s is full; source paused %.2fs", flow, exc.retry_after)
            await asyncio.sleep(max(0.05, min(exc.retry_after, 5.0)))
        finally:
            if not task.done():
                task.cancel()


class BrokerSource(Source):
    """Runs `consume` and reconnects when the connection to the broker fails."""

    def __init__(self, system: str, flow: str) -> None:
        self.system = system
        self.flow = flow
        self.clock: Callable[[], float] = time.monotonic
        self.connected = asyncio.Event()
        """Set while consuming (tests wait on it rather than on the clock)."""
        self.acked = 0
        """Messages acknowledged to the broker so far (after their commit)."""

    @abstractmethod
    async def consume(self, ingress: Ingress) -> None:
        """Connect, subscribe, and commit-then-ack until cancelled or the connection fails."""

    @abstractmethod
    def is_transient(self, exc: BaseException) -> bool:
        """Whether `exc` is a lost or refused connection (reconnect) rather than a bug (raise)."""

    async def disconnect(self) -> None:
        """Drop the connection after a failure (and when stopped)."""

    async def run(self, ingress: Ingress) -> None:
        failures = 0
        while True:
            started = self.clock()
            try:
                await self.consume(ingress)
                return
            except Exception as exc:
                if not self.is_transient(exc):
                    raise
                if self.clock() - started >= HEALTHY:
                    failures = 0
                wait = wait_before(failures)
                failures += 1
                log.warning(
                    "%s (flow %s): %s: %s; reconnecting in %.1fs",
                    self.system,
                    self.flow,
                    type(exc).__name__,
                    exc,
                    wait,
                    exc_info=log.isEnabledFor(logging.DEBUG),
                )
            finally:
                self.connected.clear()
                try:
                    await self.disconnect()
                except Exception as exc:  # the connection is gone already
                    log.debug("%s: closing after a failure: %s", self.system, exc)
            await asyncio.sleep(wait)


async def take(queue: asyncio.Queue[Any], most: int, linger: float = 0.005, *, first: Any = None) -> list[Any]:
    """The next batch from `queue`: waits for one (unless given `first`), then takes what else
    arrives within `linger` (up to `most`), so a trickle is committed at once and a flood in
    batches."""
    out = [first if first is not None else await queue.get()]
    deadline = time.monotonic() + linger
    while len(out) < most:
        try:
            out.append(queue.get_nowait())
            continue
        except asyncio.QueueEmpty:
            pass
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            out.append(await asyncio.wait_for(queue.get(), left))
        except TimeoutError:
            break
    return out
