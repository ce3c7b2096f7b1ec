"""Cron triggers: each tick enqueues one message, named by flow and tick so that two hub
processes sharing a store fire it once.

The wall clock can jump (NTP, a suspended laptop, an operator). Forward past several ticks: the
missed ones are not replayed one by one; the latest of them fires once, and the schedule goes on
from there. Backward: the schedule follows the clock at once instead of waiting out the gap, and
a tick it fired before the jump is not enqueued again (its name is its idempotency key). The
clock is a parameter, so that tests can jump it."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from datetime import UTC, datetime
from typing import Protocol

from croniter import croniter

from interlace.connectors.base import Incoming
from interlace.engine.ingress import HubIngress

log = logging.getLogger("interlace.schedule")

MAX_WAIT = 1.0
"""Seconds a schedule sleeps at most before it reads the clock again (to notice a jump)."""


class Clock(Protocol):
    def time(self) -> float:
        """Wall-clock seconds since the epoch."""

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def time(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def _next(cron: str, after: float) -> float:
    return float(croniter(cron, after).get_next(float))


def _latest(cron: str, now: float) -> float:
    """The latest tick at or before `now` (ticks fall on whole seconds)."""
    return float(croniter(cron, math.floor(now) + 1).get_prev(float))


async def run_schedule(
    ingress: HubIngress, flow: str, cron: str, body: object, *, clock: Clock | None = None
) -> None:
    clock = clock or SystemClock()
    tick = _next(cron, clock.time())
    while True:
        now = clock.time()
        if now < tick:
            tick = min(tick, _next(cron, now))  # the clock went back: a nearer tick comes first
            await clock.sleep(min(tick - now, MAX_WAIT))
            continue
        tick = max(tick, _latest(cron, now))  # the clock went past several ticks: fire the latest once
        stamp = datetime.fromtimestamp(tick, UTC).isoformat()
        item = Incoming(
            body=body if body is not None else {"tick": stamp},
            event="schedule",
            idempotency_key=f"schedule:{stamp}",
        )
        try:
            await ingress.submit(flow, [item])
        except Exception:
            log.exception("schedule of flow %s could not enqueue tick %s", flow, stamp)
        tick = _next(cron, tick)
