"""One process of a cluster runs the schedules and pollers: the holder of a leader lease in the store.

Every `interlace serve` process (and `interlace run` on a store shared across machines) competes
for the lease `sources`; the holder renews it every third of its length and runs the flows'
sources meanwhile, the others retry at the same pace. A holder that dies stops renewing and
another takes over once the lease ran out; a holder that stops gives it up at once. A holder that
cannot reach the store stops its sources before its lease could have run out (two thirds of it
after the last renewal), so that two processes never poll one source at the same time.

The clock is a parameter (`schedule.Clock`): with the system clock the store's own clock times
the lease, so machines need not agree on the time; tests inject one and jump it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from interlace.backends.base import Backend
from interlace.engine.schedule import Clock, SystemClock

log = logging.getLogger("interlace.leader")

LEASE = "sources"


class Leadership:
    def __init__(
        self,
        backend: Backend,
        holder: str,
        seconds: float,
        *,
        gained: Callable[[], Awaitable[None]],
        lost: Callable[[], Awaitable[None]],
        clock: Clock | None = None,
        name: str = LEASE,
    ) -> None:
        self.backend = backend
        self.holder = holder
        self.seconds = seconds
        self.gained = gained
        self.lost = lost
        self.clock = clock or SystemClock()
        self.injected = clock is not None
        self.name = name
        self.leading = False
        self._renewed = 0.0

    async def step(self) -> bool:
        """Try once to take or renew the lease; start or stop the sources accordingly."""
        now = self.clock.time()
        try:
            held = await self.backend.lead(self.name, self.holder, self.seconds, now=now if self.injected else None)
        except Exception:
            log.warning("could not renew the leader lease %r", self.name, exc_info=True)
            held = self.leading and now - self._renewed < self.seconds * 2 / 3
        else:
            if held:
                self._renewed = now
        if held and not self.leading:
            self.leading = True
            log.info("%s leads %r: running schedules and pollers", self.holder, self.name)
            await self.gained()
        elif not held and self.leading:
            self.leading = False
            log.warning("%s no longer leads %r: stopping schedules and pollers", self.holder, self.name)
            await self.lost()
        return held

    async def run(self) -> None:
        try:
            while True:
                await self.step()
                await self.clock.sleep(self.seconds / 3)
        finally:
            if self.leading:
                self.leading = False
                await self.lost()

    async def resign(self) -> None:
        """Give the lease up (the process stops): a successor need not wait for it to run out."""
        try:
            await self.backend.resign(self.name, self.holder)
        except Exception:
            log.warning("could not give up the leader lease %r", self.name, exc_info=True)
