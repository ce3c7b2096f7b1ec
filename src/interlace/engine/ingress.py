"""The hub's way in: sources hand records here; they are stored durably before anyone is told yes."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping, Sequence

from interlace.backends.base import Backend, NewWork, TraceEntry
from interlace.connectors.base import Incoming
from interlace.engine.flows import CompiledFlow
from interlace.errors import Backpressure, ValidationFailed
from interlace.message import Message
from interlace.observability import metrics
from interlace.types import JSON

_FULL_FOR = 0.05
"""Seconds a flow found full is refused without asking the store again: under overload most
refusals then cost a dictionary lookup, not a trip through the writer."""

_PACE_ABOVE = 0.05
"""Past this share of its bound, a flow's new messages wait (up to _PACE_WAIT) for the worker to
settle a batch before they are stored: the senders slow down to the pace of delivery instead of
filling the queue up to its bound, where they would be refused."""
_PACE_WAIT = 0.05


class HubIngress:
    """Flow control: each flow holds at most `bounds[flow]` undelivered work items. The store
    checks the bound in the same transaction that would pass it (so it holds across processes);
    a push source gets `Backpressure` (a webhook answers 429), a pull source waits in `submit`."""

    def __init__(
        self,
        backend: Backend,
        flows: dict[str, CompiledFlow],
        *,
        trace: bool = True,
        bounds: Mapping[str, int] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.backend = backend
        self.flows = flows
        self.trace = trace
        self.bounds = dict(bounds or {})
        self.clock = clock
        self._full: dict[str, tuple[float, Backpressure]] = {}
        self.progress = asyncio.Event()
        """Set by the worker each time it settles a batch."""
        self._routes: dict[tuple[str, str | None], list[str]] = {}

    def _refuse_known_full(self, names: Sequence[str]) -> None:
        now = self.clock()
        for name in names:
            known = self._full.get(name)
            if known is not None:
                if now < known[0]:
                    raise known[1]
                del self._full[name]

    async def _enqueue(
        self,
        names: Sequence[str],
        work: list[NewWork],
        traces: list[TraceEntry],
        cursor: tuple[str, JSON] | None = None,
    ) -> list[str]:
        self._refuse_known_full(names)
        await self._pace(names)
        try:
            return await self.backend.enqueue(work, traces=traces, bounds=self.bounds, cursor=cursor)
        except Backpressure as exc:
            self._full[exc.flow] = (self.clock() + _FULL_FOR, exc)
            raise

    async def _pace(self, names: Sequence[str]) -> None:
        seen = self.backend.backlog_seen
        for name in names:
            bound = self.bounds.get(name)
            if bound is not None and seen.get(name, 0) > bound * _PACE_ABOVE:
                self.progress.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.progress.wait(), _PACE_WAIT)
                return

    async def pressure(self) -> dict[str, dict[str, int]]:
        """The flows at their bound now: {flow: {pending, bound}}."""
        backlog = await self.backend.backlog()
        return {
            flow: {"pending": n, "bound": self.bounds[flow]}
            for flow, n in backlog.items()
            if flow in self.bounds and n >= self.bounds[flow]
        }

    def flows_for(self, system: str, event: str | None) -> list[str]:
        found = self._routes.get((system, event))
        if found is None:
            found = []
            for name, flow in self.flows.items():
                trigger = flow.config.trigger
                if trigger.system == system and (trigger.event is None or trigger.event == event):
                    found.append(name)
            if len(self._routes) < 10_000:  # event names come from senders: do not grow forever
                self._routes[(system, event)] = found
        return found

    def _work(
        self, flow: CompiledFlow, item: Incoming, system: str | None, validate: bool
    ) -> tuple[NewWork, list[TraceEntry]]:
        msg = Message(
            flow=flow.name,
            source=system,
            event=item.event,
            key=item.key,
            headers=dict(item.headers),
            body=item.body,
        )
        now = time.time()
        trace = self.trace
        traces = (
            [TraceEntry(msg.id, msg.correlation_id, flow.name, 0, "received", "received", 0, item.body, at=now)]
            if trace
            else []
        )
        position = 0
        if validate:
            for step in flow.leading_validates:
                errors = step.errors(item.body)
                if errors:
                    raise ValidationFailed(step.entity, errors)
                if trace:
                    traces.append(
                        TraceEntry(msg.id, msg.correlation_id, flow.name, position, step.name, "ok", 1, at=now)
                    )
                position += 1
        key = f"{flow.name}:{item.idempotency_key}" if item.idempotency_key is not None else None
        work = NewWork(msg, position, idempotency_key=key, fingerprint=item.fingerprint)
        return work, traces

    async def submit(
        self,
        flow: str,
        items: Sequence[Incoming],
        *,
        cursor: tuple[str, JSON] | None = None,
        validate: bool = False,
    ) -> list[str]:
        compiled = self.flows[flow]
        work: list[NewWork] = []
        traces: list[TraceEntry] = []
        for item in items:
            w, t = self._work(compiled, item, compiled.config.trigger.system, validate)
            work.append(w)
            traces.extend(t)
        wait = 0.05
        while True:  # a pull source waits here while its flow is full: it pauses, nothing is lost
            try:
                ids = await self._enqueue([flow], work, traces, cursor)
                break
            except Backpressure:
                await asyncio.sleep(wait)
                wait = min(wait * 2, 1.0)
        metrics.RECEIVED.labels(flow).inc(len(items))
        return ids

    async def receive(self, system: str, event: str | None, item: Incoming) -> dict[str, str]:
        names = self.flows_for(system, event)
        work: list[NewWork] = []
        traces: list[TraceEntry] = []
        for name in names:
            w, t = self._work(self.flows[name], item, system, validate=True)
            work.append(w)
            traces.extend(t)
        if not work:
            return {}
        ids = await self._enqueue(names, work, traces)
        for name in names:
            self.flows[name].received.inc()
        return dict(zip(names, ids, strict=True))

    async def load_cursor(self, name: str) -> JSON:
        return await self.backend.load_cursor(name)
