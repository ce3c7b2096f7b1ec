"""Shared by the broker connector tests: an ingress that can be made full or made to fail after
its commit, waiting for a condition with a deadline, and unique names."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from interlace.connectors.base import Incoming

from support import require_service


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


async def until(check: Callable[[], Any], timeout: float = 60.0, what: str = "condition") -> Any:
    """Poll `check` (sync or async) until it returns something truthy; fail after `timeout` (a bound
    for a busy machine, not a speed target)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if isinstance(value, Awaitable):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


class TestIngress:
    """The hub's ingress for one source, in memory: keeps what is submitted (a repeated
    idempotency key is kept once, as the store does). `full` (an Event, set: the flow has room)
    holds submits while cleared; `crash_after_commit` makes the next submits commit and then fail,
    as a hub that dies before the source acks."""

    __test__ = False

    def __init__(self) -> None:
        self.items: list[Incoming] = []
        self.keys: set[str] = set()
        self.room = asyncio.Event()
        self.room.set()
        self.waiting = 0
        self.crash_after_commit = 0
        self.submits = 0

    async def submit(
        self, flow: str, items: Sequence[Incoming], *, cursor: Any = None, validate: bool = False
    ) -> list[str]:
        self.waiting += 1
        try:
            await self.room.wait()
        finally:
            self.waiting -= 1
        self.submits += 1
        for item in items:
            if item.idempotency_key is not None:
                if item.idempotency_key in self.keys:
                    continue
                self.keys.add(item.idempotency_key)
            self.items.append(item)
        if self.crash_after_commit:
            self.crash_after_commit -= 1
            raise RuntimeError("the hub died after its commit, before the ack")
        return [uuid.uuid4().hex for _ in items]

    async def load_cursor(self, name: str) -> Any:
        return None

    async def pressure(self) -> dict[str, dict[str, int]]:
        return {} if self.room.is_set() else {"flow": {"pending": 1, "bound": 1}}

    def flows_for(self, system: str, event: str | None) -> list[str]:
        return []

    async def receive(self, system: str, event: str | None, item: Incoming) -> dict[str, str]:
        raise NotImplementedError

    def bodies(self) -> list[Any]:
        return [item.body for item in self.items]


def need(service: str) -> None:
    require_service(service)


async def stop(task: asyncio.Task[Any]) -> None:
    task.cancel()
    try:
        await task
    except (asyncio.CancelledError, RuntimeError):
        pass
