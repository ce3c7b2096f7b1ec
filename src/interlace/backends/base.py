"""The backend interface: the hub's durable store and work queue.

A flow's stages are numbered: positions 0..len(steps)-1 are its steps, then one position per
delivery. A work item is a message waiting at a position. A worker leases items, runs them and
settles each lease in ONE transaction: its outputs become new work items, its trace is written,
and the input is acked (or rescheduled, or parked as an exception). Any backend that keeps these
promises plugs in behind this interface; the contract tests in tests/backends run against each.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from interlace.message import Message
from interlace.observability.redaction import stored_text
from interlace.types import JSON

TraceStatus = Literal[
    "ok", "filtered", "routed", "split", "retry", "failed", "received", "retried", "discarded",
    "waiting", "approved", "rejected", "escalated",
]
GoldenStatus = Literal["complete", "incomplete", "deleted", "merged"]


@dataclass
class NewWork:
    """A message to be run at `position` of its flow, not before `available_at` (epoch seconds)."""

    message: Message
    position: int = 0
    available_at: float = 0.0
    idempotency_key: str | None = None
    attempts: int = 0
    """Earlier failed tries at this position (a delivery tried on the way and due for a retry)."""
    fingerprint: str | None = None
    """A digest of what arrived under `idempotency_key`: the same key with another fingerprint is
    refused (`IdempotencyConflict`) instead of being answered with the first message."""


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

    def __post_init__(self) -> None:
        self.error = stored_text(self.error)  # the redaction hook: no secret is stored (observability/redaction.py)


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
    status: Literal["open", "retried", "discarded", "resolved"]
    created_at: float
    history: list[TraceEntry] = field(default_factory=list)


@dataclass
class FieldSource:
    """Where a golden record's field value came from."""

    system: str
    at: float
    message_id: str


@dataclass
class GoldenRecord:
    """The hub's combined record for one key of an entity (integrate mode).

    `provenance` names, per field, the system, time and message of its value; `sent` lists, per
    system and field, values the hub wrote to that system and has not yet seen come back (so that
    their echo is recognised); `seen` says when each system last reported the record (so that a
    report overtaken by a later one is recognised); `version` grows by one with every write."""

    entity: str
    key: str
    values: dict[str, JSON] = field(default_factory=dict)
    provenance: dict[str, FieldSource] = field(default_factory=dict)
    sent: dict[str, dict[str, list[JSON]]] = field(default_factory=dict)
    status: GoldenStatus = "complete"
    version: int = 0
    merged_into: str | None = None
    updated_at: float = 0.0
    seen: dict[str, float] = field(default_factory=dict)
    """When each system's latest report of this record was taken: an older one is stale."""


@dataclass
class GoldenChange:
    """One line of a golden record's history: what a change did (`kind`: applied, conflict, held,
    echo, deleted, merged, backfill) and its details. `change_id` makes a change apply once."""

    entity: str
    key: str
    change_id: str
    system: str
    kind: str
    detail: dict[str, JSON] = field(default_factory=dict)
    at: float = 0.0
    id: int = 0


@dataclass
class GoldenWrite:
    """A new state of a golden record, written only if the stored one still has
    `expected_version` (0: none stored) and `change.change_id` was never applied."""

    record: GoldenRecord
    expected_version: int
    change: GoldenChange
    release_held: bool = False
    """Resolve the record's open `hold` exceptions: its missing data has arrived."""


@dataclass
class ParkedException:
    """An exception parked alongside a settle (a conflict, a held record). With `hold`
    (entity, key), it is resolved when a later write of that record sets `release_held`."""

    message: Message
    position: int
    stage: str
    owner: str | None
    reason: str
    hold: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        self.reason = stored_text(self.reason) or ""  # the redaction hook, as in TraceEntry


TaskStatus = Literal["open", "approved", "rejected"]
Verdict = Literal["approve", "reject"]


@dataclass
class NewTask:
    """A message that waits at a `task` step (at `position`) for a member of `owner` to decide; an
    approval puts it back at `position + 1`, a rejection parks it for `reject_owner`."""

    message: Message
    position: int
    name: str
    owner: str
    due_at: float | None
    reject_owner: str | None = None
    created_at: float = 0.0


@dataclass
class TaskRecord:
    """A task as stored. `level` counts its escalations (0: still with its first owner);
    `history` lists what happened to it (created, escalated, approved, rejected), oldest first,
    each line with its `at`, `by` and `owner`."""

    id: int
    message: Message
    flow: str
    position: int
    name: str
    owner: str
    status: TaskStatus
    level: int
    due_at: float | None
    created_at: float
    reject_owner: str | None = None
    overdue_since: float | None = None
    decided_by: str | None = None
    decided_at: float | None = None
    history: list[dict[str, JSON]] = field(default_factory=list)


@dataclass
class TaskDecision:
    """A person's decision: `verdict`, by whom (`by`, a token's name), with an edited `body` (an
    approval; None: as it was) and a `comment`. `owner`: decided only while the task is still with
    this owner (it may have escalated since the decider read it)."""

    verdict: Verdict
    by: str
    at: float
    body: JSON = None
    comment: str | None = None
    owner: str | None = None


@dataclass
class TaskEscalation:
    """A task past its deadline moves to `owner` (the same owner at the chain's end) with a new
    deadline, if it is still open at `level`. `remind`: (channel, target) pairs the new owner is
    told by; the store batches one reminder per owner and channel for all the tasks moved at once."""

    task_id: int
    level: int
    owner: str
    due_at: float | None
    at: float
    remind: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Settle:
    """How a leased item ends. Exactly one of the three outcomes:
    - done: ack it, enqueue `outputs`;
    - retry_at: keep it, run again at that time with attempts + 1;
    - park: move it to the exceptions with `owner` and `reason` (`message`/`position` say where it
      failed, which may be a later step than the item's own position).

    A done item may also write `golden` records and park extra `exceptions`, in the same
    transaction. When a golden write finds its record changed since it was read, nothing is
    applied and the item is due again at once (settle answers False); when its change was
    already applied, the item is just acked."""

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
    golden: list[GoldenWrite] = field(default_factory=list)
    exceptions: list[ParkedException] = field(default_factory=list)
    tasks: list[NewTask] = field(default_factory=list)
    """Messages that now wait for a person (a done item's `task` step): stored with the ack."""


@dataclass
class FlowCounts:
    flow: str
    received: int = 0
    delivered: int = 0
    exceptions: int = 0


@dataclass
class DayCounts:
    """A flow's counts on one UTC day (`day` as YYYY-MM-DD)."""

    flow: str
    day: str
    received: int = 0
    delivered: int = 0
    exceptions: int = 0


@dataclass
class Notice:
    """A digest of an owner's parked exceptions, to send by one channel (`email` to an address,
    `webhook` to a URL). The digest (count, flows, the first exceptions, ...) is composed once,
    when the notice is made, so a notice sent again says the same."""

    id: int
    owner: str
    channel: str
    target: str
    digest: dict[str, JSON]
    attempts: int = 0
    created_at: float = 0.0
    sent_at: float | None = None
    error: str | None = None


@dataclass
class ConfigVersion:
    """A config published to every process sharing the store (`interlace reload`)."""

    version: int
    hash: str
    text: str
    published_by: str
    at: float


class Backend(ABC):
    """The store and the queue. Implementations: `sqlite.py` (embedded default), `postgresql.py`
    (any number of processes on any number of machines), `rabbitmq.py` (RabbitMQ as the bus).

    The engine sees only this interface. A message bus (a broker carrying the work items) plugs
    in the same way: `rabbitmq.py` is the PostgreSQL store with the work items' ids on the bus;
    the store keeps everything else (messages, traces, exceptions, golden records, counters)."""

    backlog_seen: dict[str, int]
    """Each flow's backlog as this process's last enqueue into it found it (read without a trip
    to the store; flow control paces a source by it)."""

    shared: bool = False
    """Processes on other machines may share this store: a hub runs its schedules and pollers only
    while it holds the leader lease (engine/leader.py)."""

    on_new_work: Callable[[], None] | None = None
    """Called when work may have become due (new work committed here, or, for a shared store,
    announced by another process): the worker leases at once instead of at its next poll."""

    on_config: Callable[[], None] | None = None
    """Called when another process published a config version (a shared store announces it)."""

    @abstractmethod
    async def open(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    def alive(self) -> bool:
        """The store's own loops (a writer thread, a connection pool) are running (/healthz)."""
        return True

    @abstractmethod
    async def enqueue(
        self,
        work: Sequence[NewWork],
        *,
        cursor: tuple[str, JSON] | None = None,
        traces: Sequence[TraceEntry] = (),
        bounds: Mapping[str, int] | None = None,
    ) -> list[str]:
        """Durably store new messages (and a source cursor) in one transaction. Returns each
        message's id; for an idempotency key seen before, the id of the earlier message (and
        nothing is enqueued again), or `IdempotencyConflict` when the key came with another
        fingerprint. With `bounds` (flow -> most undelivered work items), `Backpressure` is
        raised and nothing stored when the new messages would take a flow past its bound; the
        check is made inside the transaction, so it holds across processes sharing the store."""

    @abstractmethod
    async def lease(self, owner: str, limit: int, seconds: float) -> list[WorkItem]:
        """Take up to `limit` due items for `seconds`; an expired lease makes an item due again."""

    def claim_arrivals(self, owner: str, seconds: float) -> None:
        """Let new messages enqueued through this backend be stored already leased to `owner`
        (this process's worker) for `seconds`, and handed to its `lease` from memory, with no
        read of the store. A backend that cannot (the default) stores them due."""

    @abstractmethod
    async def extend(self, owner: str, ids: Sequence[int], seconds: float) -> None:
        """Keep the items `owner` still holds leased for another `seconds` (the worker's heartbeat,
        so a slow delivery is not handed to a second worker while it runs)."""

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

    async def daily_counts(self, since: str | None = None, until: str | None = None) -> list[DayCounts]:
        """Each flow's counts per UTC day from `since` to `until` (YYYY-MM-DD, both included; None:
        no bound), by day then flow: what gain is measured from (gain.py). Read without waiting
        for writers."""
        raise NotImplementedError(f"the {type(self).__name__} store keeps no daily counts")

    async def open_exceptions(self) -> dict[tuple[str, str | None], int]:
        """Open exceptions per (flow, owner), for /metrics."""
        found: dict[tuple[str, str | None], int] = {}
        for e in await self.exceptions():
            found[e.flow, e.owner] = found.get((e.flow, e.owner), 0) + 1
        return found

    async def check_writable(self) -> None:
        """Commit a small write (for /readyz); raises when the store cannot take one."""
        raise NotImplementedError(f"the {type(self).__name__} store has no write check")

    # -- owners' notices (notify/): an outbox kept with the exceptions --------------------
    # Parking an exception with an owner adds it to that owner's pending tally in the same
    # transaction. Not abstract: a backend without them runs a hub that tells nobody.

    async def notice_times(self) -> tuple[float | None, float | None]:
        """(when the oldest pending tally opened, when the next unsent notice is due), None for
        none; read without waiting for writers (the notifier asks every second)."""
        return None, None

    async def compose_notices(
        self,
        opened_before: float,
        channels: Mapping[str, Sequence[tuple[str, str]]],
        *,
        samples: int = 20,
        context: Mapping[str, JSON] | None = None,
        now: float,
    ) -> list[Notice]:
        """In one transaction: every tally opened at or before `opened_before` becomes one notice
        per channel of its owner (`channels`: owner -> [(channel, target)]; an owner with none is
        told nothing and its tally is dropped), the digest listing the first `samples` exceptions
        and holding `context`; the tallies are gone. The new notices, due at `now`."""
        raise NotImplementedError(f"the {type(self).__name__} store keeps no notices")

    async def claim_notices(self, now: float, hold: float, limit: int = 100) -> list[Notice]:
        """Unsent notices due by `now` and held by nobody, now held for `hold` seconds."""
        return []

    async def notice_sent(self, notice_id: int, now: float) -> None:
        raise NotImplementedError(f"the {type(self).__name__} store keeps no notices")

    async def notice_failed(self, notice_id: int, error: str, retry_at: float) -> None:
        raise NotImplementedError(f"the {type(self).__name__} store keeps no notices")

    async def notices(self, *, sent: bool | None = None) -> list[Notice]:
        """Every notice (only the sent, or only the unsent ones), oldest first."""
        return []

    @abstractmethod
    async def pending(self) -> int:
        """Work items not yet settled."""

    @abstractmethod
    async def backlog(self) -> dict[str, int]:
        """Work items not yet settled, per flow (flows with none are left out). Read without
        waiting for writers: flow control asks often."""

    # -- golden records (entities in integrate mode) ------------------------------------
    @abstractmethod
    async def golden(self, entity: str, keys: Sequence[str]) -> dict[str, GoldenRecord]:
        """The stored records of these keys (absent keys are left out)."""

    @abstractmethod
    async def golden_page(self, entity: str, after: str | None, limit: int) -> list[GoldenRecord]:
        """Up to `limit` records in key order, after key `after` (None: from the first)."""

    @abstractmethod
    async def write_golden(
        self,
        writes: Sequence[GoldenWrite],
        *,
        outputs: Sequence[NewWork] = (),
        cursor: tuple[str, JSON] | None = None,
    ) -> bool:
        """Apply every write, enqueue `outputs` and store `cursor`, all in one transaction; or
        nothing at all (False) when a record's version moved. A write whose change was already
        applied is skipped; when all were, nothing else is done either (True)."""

    @abstractmethod
    async def golden_history(
        self, entity: str, key: str | None = None, *, kind: str | None = None, prefix: str | None = None
    ) -> list[GoldenChange]:
        """History lines, oldest first: of one key or all, of one kind or all, and only those
        whose change id starts with `prefix` when given."""

    # == human tasks (engine/tasks.py): messages waiting for a person's decision ==========
    # A task is stored with the ack of the work item that reached it (Settle.tasks): the message
    # waits in the task, not as a leased item. Not abstract: a store without them refuses a flow
    # with a `task` step when it runs one.

    async def tasks(
        self,
        *,
        status: str | None = "open",
        owners: Sequence[str] | None = None,
        flow: str | None = None,
        due_by: float | None = None,
        limit: int = 1000,
    ) -> list[TaskRecord]:
        """Tasks by id (of these states, owners and flow; None: any), and only those whose deadline
        is at or before `due_by` when given; without their history."""
        raise NotImplementedError(f"the {type(self).__name__} store keeps no tasks")

    async def get_task(self, task_id: int) -> TaskRecord | None:
        """One task with its history."""
        raise NotImplementedError(f"the {type(self).__name__} store keeps no tasks")

    async def decide_task(self, task_id: int, decision: TaskDecision) -> TaskRecord | None:
        """In one transaction: record the decision on the open task (still with `decision.owner`
        when given) and resume its message: an approval enqueues it at the next position (with
        the edited body, and the decision in its `interlace-task` header), a rejection parks it as
        an exception of the task's `reject_owner`; both are traced. The decided task, or None when
        it was not open (decided before: a task is decided at most once) or has moved owner."""
        raise NotImplementedError(f"the {type(self).__name__} store keeps no tasks")

    async def escalate_tasks(self, moves: Sequence[TaskEscalation], *, context: Mapping[str, JSON] | None = None
                             ) -> list[int]:  # fmt: skip
        """In one transaction: each move whose task is still open at its level (the ids moved are
        answered), traced, and one reminder notice per new owner and channel listing its tasks
        moved now (the digest holds `context`, as compose_notices)."""
        raise NotImplementedError(f"the {type(self).__name__} store keeps no tasks")

    # == the cluster: leader leases and config versions ================================
    # Processes sharing a store agree through it: one of them runs the schedules and pollers
    # (the leader, by a lease that it renews), and a config published by one reaches all.

    async def lead(self, name: str, holder: str, seconds: float, *, now: float | None = None) -> bool:
        """Take or renew the lease `name` for `holder` until `now + seconds`: True when `holder`
        holds it now (it was free, expired at `now`, or already `holder`'s). `now` is the caller's
        clock (tests inject one); None: the store's own clock."""
        raise NotImplementedError(f"the {type(self).__name__} store keeps no leader leases")

    async def resign(self, name: str, holder: str) -> None:
        """Give the lease up at once (a process that stops), if `holder` has it."""
        raise NotImplementedError(f"the {type(self).__name__} store keeps no leader leases")

    async def publish_config(self, digest: str, text: str, by: str) -> ConfigVersion:
        """Store a config as the newest version (the newest itself when it has this digest) and
        announce it to every process sharing the store."""
        raise NotImplementedError(f"the {type(self).__name__} store keeps no config versions")

    async def latest_config(self) -> ConfigVersion | None:
        """The newest published config, if any."""
        return None

    # == API tokens and the audit log ==================================================
    # The admin surface's records (web/auth.py, cli/tokens.py, cli/audit.py), kept apart from the
    # queue above. Not abstract: a backend that lacks them still runs a hub, whose API then lets
    # nobody in (TokensUnsupported is answered as 503).

    async def create_token(self, name: str, role: Role, token_hash: str, created_by: str) -> ApiToken:
        """Store a new token by its hash; ValueError when an unrevoked token already has `name`."""
        raise TokensUnsupported(self)

    async def tokens(self, *, revoked: bool = False) -> list[ApiToken]:
        """Every unrevoked token (and the revoked ones when `revoked`), oldest first."""
        raise TokensUnsupported(self)

    async def token_by_hash(self, token_hash: str) -> ApiToken | None:
        """The unrevoked token with this hash, if any."""
        raise TokensUnsupported(self)

    async def revoke_token(self, name: str) -> bool:
        """Revoke the unrevoked token named `name`; False when there is none."""
        raise TokensUnsupported(self)

    async def record_audit(self, entry: AuditEntry) -> None:
        """Append one line to the audit log (`entry.id` and a zero `entry.at` are filled in)."""
        raise TokensUnsupported(self)

    async def audit_log(self, *, limit: int = 100, actor: str | None = None) -> list[AuditEntry]:
        """The latest `limit` lines (of one actor when given), newest first."""
        raise TokensUnsupported(self)

    # -- console sessions (web/sessions.py): a token traded at the login page for a cookie --
    async def create_session(self, session_hash: str, token_id: int, csrf: str, expires_at: float) -> None:
        """Store a console session by its hash, for the live token `token_id`, until `expires_at`."""
        raise TokensUnsupported(self)

    async def session(self, session_hash: str, now: float) -> tuple[ApiToken, str] | None:
        """The token and CSRF value of an unexpired session whose token is not revoked, if any."""
        raise TokensUnsupported(self)

    async def end_session(self, session_hash: str) -> None:
        """Forget a session (logout); expired sessions are dropped on the way."""
        raise TokensUnsupported(self)

    # -- reads for the admin API and the console ------------------------------------------
    async def recent_messages(self, *, flow: str | None = None, limit: int = 50) -> list[TraceEntry]:
        """The `received` trace entries of the latest `limit` messages (of one flow when given),
        newest first (empty when tracing is off, and from a store that cannot list them)."""
        return []


Role = Literal["viewer", "operator", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "operator", "admin")
"""Each role may do what the ones before it may: a viewer reads, an operator also retries and
discards exceptions, an admin also manages tokens."""


@dataclass
class ApiToken:
    """A token's record. The token itself is never stored, only its hash (see web/auth.py)."""

    id: int
    name: str
    role: Role
    created_at: float
    created_by: str
    revoked_at: float | None = None


@dataclass
class AuditEntry:
    """One mutating call: who (a token's name, or `cli:<user>`), what (`action`), on what
    (`target`), when (`at`), and how it ended (`outcome`: ok, not found, denied, ...)."""

    actor: str
    action: str
    target: str
    outcome: str
    detail: dict[str, JSON] = field(default_factory=dict)
    at: float = 0.0
    id: int = 0


class TokensUnsupported(NotImplementedError):
    def __init__(self, backend: object) -> None:
        super().__init__(f"the {type(backend).__name__} store keeps no API tokens, sessions or audit log")
