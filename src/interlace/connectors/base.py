"""The connector protocol: a plugin declares its settings and builds sources and sinks.

A connector class is registered under the entry point group `interlace.connectors`
(see `registry.py`); built-in connectors are registered the same way as a user's own.

One connector instance exists per configured system. It declares three pydantic models:
- `settings_model`: what the system entry in `systems:` may say (beyond `connector:`);
- `source_options`: what a flow `trigger:` naming this system may say (None: not a source);
- `sink_options`: what a flow `deliver:` naming this system may say (None: not a sink).

What else it can do it declares too, never left to be probed with `hasattr`: `twin` (an in-memory
stand-in for its sink in `interlace test`), `probe_use` (`interlace check` of one trigger's or
delivery's permissions), `can_look_up`
(`lookup` answers, so an `enrich` step may name the system), `can_list_records` (`list_records`
answers, so `entity diff` and `backfill` may read it from a path), `check_flow` (what a
trigger's options need of the rest of its flow), and `use_state` (records of its own kept in the
hub's store).

`Options` and `ConfigPath` live in `interlace/options.py` (formats use them too) and are
re-exported here for connector packages.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from interlace.options import ConfigPath as ConfigPath
from interlace.options import Options as Options
from interlace.types import JSON, JSONObject

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

    from interlace.message import Message


@dataclass
class Incoming:
    """One record a source hands to the hub."""

    body: JSON
    event: str | None = None
    key: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    idempotency_key: str | None = None
    """When set, a second submission with the same key is recognised and not enqueued again."""
    fingerprint: str | None = None
    """A digest of what arrived with `idempotency_key`: the same key with another fingerprint is
    refused (`IdempotencyConflict`), not answered as a repeat."""


class Ingress(Protocol):
    """What the hub offers sources: a durable way in."""

    async def submit(
        self,
        flow: str,
        items: Sequence[Incoming],
        *,
        cursor: tuple[str, JSON] | None = None,
        validate: bool = False,
    ) -> list[str]:
        """Persist `items` as new messages of `flow` (and the cursor, in the same transaction).

        Returns the message ids once they are durable. With `validate`, the flow's leading
        `validate` steps run first and a `ValidationFailed` is raised before anything is stored.
        """
        ...

    async def load_cursor(self, name: str) -> JSON:
        """The last cursor value stored under `name`, or None."""
        ...

    async def pressure(self) -> dict[str, dict[str, int]]:
        """The flows at their bound of undelivered work items now: {flow: {pending, bound}}."""
        ...

    def flows_for(self, system: str, event: str | None) -> list[str]:
        """The flows triggered by an event of a system."""
        ...

    async def receive(self, system: str, event: str | None, item: Incoming) -> dict[str, str]:
        """For push sources (webhooks): one event of `system`, persisted as one message per flow
        it triggers, all in one transaction, after every such flow's leading `validate` steps
        accept it (else `ValidationFailed`, and nothing is stored). Returns {flow: message id};
        empty when no flow takes the event."""
        ...


class State(Protocol):
    """A connector's own small records in the hub's store: kept across restarts and shared by the
    processes on one store (an http system's OAuth2 tokens, encrypted). Names are the
    connector's own; the hub keeps each system's apart."""

    async def load(self, name: str) -> JSON:
        """The value last saved under `name`, or None."""
        ...

    async def save(self, name: str, value: JSON) -> None:
        """Store `value` under `name` durably (committed when this returns)."""
        ...


class Source(ABC):
    """An active source: runs until cancelled, submitting what it finds to the ingress."""

    @abstractmethod
    async def run(self, ingress: Ingress) -> None: ...


class Sink(ABC):
    """Delivers messages to a system. Must be idempotent under redelivery of the same
    `delivery_id` (upsert keys, Idempotency-Key headers, a dedupe table)."""

    batched: ClassVar[bool] = False
    """True when `deliver_many` writes a whole batch at once (one transaction): the worker then
    hands it every due item together; otherwise it calls `deliver` concurrently, up to the
    system's `concurrency`."""

    @abstractmethod
    async def deliver(self, message: Message, delivery_id: str) -> JSON:
        """Deliver one message; returns a short result for the trace (a status, a row count)."""

    async def deliver_many(self, batch: Sequence[tuple[Message, str]]) -> list[JSON | Exception]:
        """Deliver several messages at once (one transaction, one round trip where the system allows).

        Returns one entry per input, in order: the result, or the exception that item failed with,
        so that one bad record does not fail the rest of the batch. The default delivers one by one.
        """
        out: list[JSON | Exception] = []
        for message, delivery_id in batch:
            try:
                out.append(await self.deliver(message, delivery_id))
            except Exception as exc:  # each item's failure is reported, not raised
                out.append(exc)
        return out


async def deliver_through_many(sink: Sink, message: Message, delivery_id: str) -> JSON:
    """`deliver` of a sink whose real work is `deliver_many` (one transaction, one round trip):
    a batch of one, its failure raised."""
    (result,) = await sink.deliver_many([(message, delivery_id)])
    if isinstance(result, Exception):
        raise result
    return result


class Connector(ABC):
    """A plugin for one kind of system."""

    name: ClassVar[str]
    settings_model: ClassVar[type[Options]]
    source_options: ClassVar[type[Options] | None] = None
    sink_options: ClassVar[type[Options] | None] = None
    can_look_up: ClassVar[bool] = False
    """`lookup` answers: an `enrich` step may name this system."""
    can_list_records: ClassVar[bool] = False
    """`list_records` answers: `entity diff` and `backfill` may read the system from a path."""
    listens: ClassVar[bool] = False
    """It receives by serving routes on the hub's web server (a webhook): an agent, which opens no
    listening socket, cannot run it."""

    def __init__(self, system: str, settings: Any) -> None:
        self.system = system
        self.settings = settings

    def source(self, flow: str, options: Any) -> Source | None:
        """A source for one flow's trigger; None when the connector receives passively (routes)."""
        raise NotImplementedError(f"connector {self.name!r} cannot be a source")

    def sink(self, options: Any) -> Sink:
        """A sink for one flow's `deliver:` entry."""
        raise NotImplementedError(f"connector {self.name!r} cannot be a sink")

    def twin(self, options: Any) -> Sink | None:
        """The in-memory twin of `sink(options)` that `interlace test` delivers to: it does to a
        message what the real sink does short of sending it (a broker's destination and payload),
        so a flow test fails where the real delivery would refuse. Opens no connection. None: the
        test runner's plain recording fake stands in."""
        return None

    async def probe_use(self, role: str, options: Any) -> None:
        """`interlace check`, after `probe`: whether the system allows what one trigger (`role`
        "source") or delivery ("sink") with these options asks of it (a queue to read exists, a
        stream may be written), where the protocol can tell without side effects. Raise
        ConnectorError if not."""

    @classmethod
    def check_flow(
        cls, options: Any, flow: Any, deliveries: Sequence[tuple[str | None, Any]], settings: Any
    ) -> list[tuple[tuple[str | int, ...], str]]:
        """The loader's cross-check of a trigger's `options` (built from `source_options`) against
        its flow: problems, each with its path below the flow. `deliveries`: per `deliver:` entry,
        its connector's name (None: unknown) and options; `settings`: the trigger system's."""
        return []

    async def lookup(self, table: str, where: dict[str, JSON]) -> JSONObject | None:
        """The first record of `table` whose fields equal `where`, or None (when `can_look_up`)."""
        raise NotImplementedError(f"connector {self.name!r} cannot be looked up")

    async def list_records(self, path: str) -> JSON:
        """The records at `path`, as the system answers them (when `can_list_records`)."""
        raise NotImplementedError(f"connector {self.name!r} cannot list records")

    def use_state(self, state: State) -> None:
        """Called with the system's records in the hub's store once the store is open, before any
        source or sink runs (the default keeps none)."""

    def routes(self, ingress: Ingress) -> list[BaseRoute]:
        """HTTP routes this system serves on the hub's web server (webhooks)."""
        return []

    async def probe(self) -> None:
        """Check the system is reachable; raise ConnectorError if not."""

    async def close(self) -> None:
        """Release connections."""
