"""The hub's way in: sources hand records here; they are stored durably before anyone is told yes."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence

from interlace.backends.base import Backend, NewWork, TraceEntry
from interlace.connectors.base import Incoming
from interlace.engine.flows import CompiledFlow
from interlace.errors import Backpressure, ValidationFailed
from interlace.message import Message
from interlace.observability.tracing import TRACEPARENT, Tracer
from interlace.types import JSON

_FULL_FOR = 0.05
"""Seconds a flow found full is refused without asking the store again: under overload most
refusals then cost a dictionary lookup, not a trip through the writer."""

_PACE_ABOVE = 0.10
"""Past this share of its bound, a flow's new messages wait (up to _PACE_WAIT) for the worker to
settle a batch before they are stored: the senders slow down to the pace of delivery instead of
filling the queue up to its bound, where they would be refused. Below it is the delivery in
progress: at 15,000 messages/s, two processes hold 200-570 undelivered items (claimed, running,
settling) while keeping up; at 5% of the default bound (500) the senders of a hub that kept up
were paced, and their p99 went from 7 ms to 14-25 ms."""
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
        self.tracer: Tracer | None = None
        """Spans of what arrives (observability/tracing.py); None: none are made."""

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
        started = time.time_ns() if self.tracer is not None else 0
        work: list[NewWork] = []
        traces: list[TraceEntry] = []
        for item in items:
            w, t = self._work(compiled, item, compiled.config.trigger.system, validate)
            work.append(w)
            traces.extend(t)
        if self.tracer is None:
            ids = await self._enqueue_waiting(flow, work, traces, cursor)
        else:
            ids = await self._traced(
                self.tracer, "consumer", started, work, lambda: self._enqueue_waiting(flow, work, traces, cursor)
            )
        compiled.received.inc(len(items))
        return ids

    async def _enqueue_waiting(
        self, flow: str, work: list[NewWork], traces: list[TraceEntry], cursor: tuple[str, JSON] | None
    ) -> list[str]:
        wait = 0.05
        while True:  # a pull source waits here while its flow is full: it pauses, nothing is lost
            try:
                return await self._enqueue([flow], work, traces, cursor)
            except Backpressure:
                await asyncio.sleep(wait)
                wait = min(wait * 2, 1.0)

    async def receive(self, system: str, event: str | None, item: Incoming) -> dict[str, str]:
        names = self.flows_for(system, event)
        started = time.time_ns() if self.tracer is not None else 0
        work: list[NewWork] = []
        traces: list[TraceEntry] = []
        for name in names:
            w, t = self._work(self.flows[name], item, system, validate=True)
            work.append(w)
            traces.extend(t)
        if not work:
            return {}
        if self.tracer is None:
            ids = await self._enqueue(names, work, traces)
        else:
            ids = await self._traced(self.tracer, "server", started, work, lambda: self._enqueue(names, work, traces))
        for name in names:
            self.flows[name].received.inc()
        return dict(zip(names, ids, strict=True))

    async def _traced(
        self,
        tracer: Tracer,
        kind: str,
        started: int,
        work: list[NewWork],
        enqueue: Callable[[], Awaitable[list[str]]],
    ) -> list[str]:
        """Run `enqueue` inside a `receive <flow>` span per message, begun when the request came
        in (`started`, ns), under the sender's `traceparent` when it sent one; each message
        carries its span's context from here on, in its `traceparent` header. The validate steps
        run on the way in get spans of their own."""
        checked = time.time_ns()
        spans = []
        for w in work:
            msg = w.message
            attributes = {"interlace.flow": msg.flow, "interlace.message_id": msg.id,
                          "interlace.system": msg.source or ""}  # fmt: skip
            parent = msg.headers.get(TRACEPARENT)
            span = tracer.start(f"receive {msg.flow}", parent, kind=kind, attributes=attributes, start_ns=started)
            parent = msg.headers[TRACEPARENT] = tracer.traceparent(span)
            if w.position:
                flow = self.flows[msg.flow]
                tracer.spans([(flow.stage(p), started, checked, None) for p in range(w.position)], parent, attributes)
            spans.append(span)
        try:
            ids = await enqueue()
        except BaseException as exc:
            for span in spans:
                tracer.failed(span, f"{type(exc).__name__}: {exc}")
                span.end()
            raise
        for span in spans:
            span.end()
        return ids

    async def load_cursor(self, name: str) -> JSON:
        return await self.backend.load_cursor(name)
