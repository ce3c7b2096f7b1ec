"""Per-system rate limits: token buckets (per second, per minute) every request of the system
waits on, and a pause for a 429 answer's Retry-After that holds back every request to the system,
not only the one refused. `clock` and `sleep` are injected (tests run them without waiting)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from email.utils import parsedate_to_datetime

import httpx

from interlace.connectors.http.settings import RateLimit


def retry_after(response: httpx.Response, now: float | None = None) -> float | None:
    """The wait a 429 or 503 asks for, in seconds (a number, or an HTTP date), if it asks."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - (time.time() if now is None else now))
        except (TypeError, ValueError):
            return None


class Bucket:
    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.at = now

    def wait(self, now: float) -> float:
        """How long until a token is there (0.0: now)."""
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate


class Limiter:
    def __init__(
        self,
        limit: RateLimit | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.limit = limit
        self.clock = clock
        self.sleep = sleep
        now = clock()
        self.buckets = []
        if limit is not None:
            if limit.per_second is not None:
                self.buckets.append(Bucket(limit.per_second, limit.burst, now))
            if limit.per_minute is not None:
                self.buckets.append(Bucket(limit.per_minute / 60.0, limit.burst, now))
        self.paused_until = 0.0
        self.waited = 0.0
        """Seconds spent waiting so far (for the logs and the tests)."""
        self._lock = asyncio.Lock()

    def pause(self, seconds: float) -> None:
        """A 429's Retry-After: no request to the system before it has passed."""
        self.paused_until = max(self.paused_until, self.clock() + seconds)

    async def acquire(self) -> None:
        async with self._lock:  # in turn: a burst of callers is spaced out, not let through together
            while True:
                now = self.clock()
                wait = self.paused_until - now
                if wait <= 0:
                    wait = max((b.wait(now) for b in self.buckets), default=0.0)
                    if wait <= 0:  # every bucket has a token: take one from each
                        for bucket in self.buckets:
                            bucket.tokens -= 1.0
                        return
                self.waited += wait
                await self.sleep(wait)


class LimitedTransport(httpx.AsyncBaseTransport):
    """Every request waits its turn; a 429 answer pauses the system for its Retry-After (1 s when
    it names none)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, limiter: Limiter) -> None:
        self.inner = inner
        self.limiter = limiter

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await self.limiter.acquire()
        response = await self.inner.handle_async_request(request)
        if response.status_code == 429:
            wait = retry_after(response)
            self.limiter.pause(1.0 if wait is None else wait)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()
