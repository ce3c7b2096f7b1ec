"""Messages per second per flow, from the store's counts (shared by every process on the store,
so the rate is the hub's, not one process's). The meter keeps the samples it was given over the
last minute; a rate is the change between the newest sample and the oldest one within `window`."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from interlace.backends.base import Backend, FlowCounts

Counts = dict[str, tuple[int, int, int]]
"""flow -> (received, delivered, exceptions)"""

KEEP = 60.0


class RateMeter:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.samples: deque[tuple[float, Counts]] = deque()

    def add(self, counts: list[FlowCounts]) -> Counts:
        now = self.clock()
        sample = {c.flow: (c.received, c.delivered, c.exceptions) for c in counts}
        self.samples.append((now, sample))
        while self.samples and now - self.samples[0][0] > KEEP:
            self.samples.popleft()
        return sample

    async def sample(self, backend: Backend) -> Counts:
        return self.add(await backend.counts())

    def rates(self, window: float = 5.0) -> dict[str, dict[str, float | None]]:
        """Per flow: `in` (received/s), `out` (delivered/s) and `failed` (parked/s) over about the
        last `window` seconds; None until two samples at least 0.5 s apart are known."""
        if not self.samples:
            return {}
        now, newest = self.samples[-1]
        oldest = next(((t, s) for t, s in self.samples if now - t <= window and now - t >= 0.5), None)
        out: dict[str, dict[str, float | None]] = {}
        for flow, (received, delivered, parked) in newest.items():
            if oldest is None:
                out[flow] = {"in": None, "out": None, "failed": None}
                continue
            then, before = oldest
            r0, d0, p0 = before.get(flow, (0, 0, 0))
            span = now - then
            out[flow] = {
                "in": round((received - r0) / span, 2),
                "out": round((delivered - d0) / span, 2),
                "failed": round((parked - p0) / span, 2),
            }
        return out
