"""The backend interface: the hub's durable store and work queue.

A flow's stages are numbered: positions 0..len(steps)-1 are its steps, then one position per
delivery. A work item is a message waiting at a position. A worker leases items, runs them and
settles each lease in ONE transaction: its outputs become new work items, its trace is written,
and the input is acked (or rescheduled, or parked as an exception). Any backend that keeps these
promises plugs in behind this interface; the contract tests in tests/backends run against each.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from interlace.message import Message
from interlace.types import JSON

TraceStatus = Literal[
    "ok", "filtered", "routed", "split", "retry", "failed", "received", "retried", "discarded"
]


@dataclass
class NewWork:
    """A message to be run at `position` of its flow, not before `available_at` (epoch seconds)."""

    message: Message
    position: int = 0
    available_at: float = 0.0
    idempotency_key: str | None = None


@dataclass
class WorkItem:
    """A leased work item. `attempts` counts earlier failed tries at this position."""

    id: int
    message: Message
    position: int
    attempts: int
    lease_owner: str


@dataclass
class TraceEntry:
    message_id: str
    correlation_id: str
    flow: str
    position: int
    stage: str
    status: TraceStatus
    attempt: int = 0
    input: JSON = None
    output: JSON = None
    error: str | None = None
    at: float = 0.0


@dataclass
class ExceptionRecord:
    """A parked message: it failed for good, and waits for its owner."""

    id: int
    message: Message
    flow: str
    position: int
    stage: str
    owner: str | None
    reason: str
    status: Literal["open", "retried", "discarded"]
    created_at: float
    history: list[TraceEntry] = field(default_factory=list)


@dataclass
class Settle:
    """How a leased item ends. Exactly one of the three outcomes:
    - done: ack it, enqueue `outputs`;
    - retry_at: keep it, run again at that time with attempts + 1;
    - park: move it to the exceptions with `owner` and `reason` (`message`/`position` say where it
      failed, which may be a later step than the item's own position)."""

    item: WorkItem
    traces: list[TraceEntry] = field(default_factory=list)
    outputs: list[NewWork] = field(default_factory=list)
    retry_at: float | None = None
    park: bool = False
    owner: str | None = None
    reason: str | None = None
    message: Message | None = None
    position: int | None = None
    stage: str | None = None
    delivered: int = 0


@dataclass
class FlowCounts:
    flow: str
    received: int = 0
    delivered: int = 0
    exceptions: int = 0


class Backend(ABC):
    """The store and the queue. Implementations: `sqlite.py` (embedded default)."""

    @abstractmethod
    async def open(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def enqueue(
        self,
        work: Sequence[NewWork],
        *,
        cursor: tuple[str, JSON] | None = None,
        traces: Sequence[TraceEntry] = (),
    ) -> list[str]:
        """Durably store new messages (and a source cursor) in one transaction. Returns each
        message's id; for an idempotency key seen before, the id of the earlier message (and
        nothing is enqueued again)."""

    @abstractmethod
    async def lease(self, owner: str, limit: int, seconds: float) -> list[WorkItem]:
        """Take up to `limit` due items for `seconds`; an expired lease makes an item due again."""

    @abstractmethod
    async def settle(self, outcomes: Sequence[Settle]) -> list[bool]:
        """Apply each outcome atomically; False for an item whose lease was lost (its outputs
        are then discarded, since whoever holds it now will produce them)."""

    @abstractmethod
    async def load_cursor(self, name: str) -> JSON: ...

    @abstractmethod
    async def trace(self, message_id: str) -> list[TraceEntry]:
        """Every trace entry of a message and of the messages derived from it."""

    @abstractmethod
    async def exceptions(
        self, *, status: str | None = "open", flow: str | None = None, owner: str | None = None
    ) -> list[ExceptionRecord]: ...

    @abstractmethod
    async def get_exception(self, exception_id: int) -> ExceptionRecord | None: ...

    @abstractmethod
    async def retry_exception(self, exception_id: int, body: JSON = None) -> bool:
        """Put a parked message back where it failed (optionally with an edited body)."""

    @abstractmethod
    async def discard_exception(self, exception_id: int) -> bool: ...

    @abstractmethod
    async def counts(self) -> list[FlowCounts]: ...

    @abstractmethod
    async def pending(self) -> int:
        """Work items not yet settled."""
