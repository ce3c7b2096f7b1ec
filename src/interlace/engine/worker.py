"""The worker: leases due work items, runs them, and settles each in one transaction.

A work item at a step position runs every pure step from there on in memory (validate, map,
filter, route, split; they touch nothing outside) and settles once, at the first side effect:
its outputs are the delivery items (or the split children, or the routed message). An async step
(an entity's sync) may read the store; its `Effects` (outputs, golden record writes, parked
exceptions) are settled with the ack in the same one transaction. A work item at
a delivery position delivers once. Items due for the same delivery are delivered as a batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from interlace.backends.base import Backend, NewWork, ParkedException, Settle, TraceEntry, TraceStatus, WorkItem
from interlace.engine.flows import CompiledFlow
from interlace.engine.retry import backoff
from interlace.engine.steps import AsyncStep, Continue, Drop, Effects, Route, Split
from interlace.errors import DeliveryError, StepError
from interlace.message import Message
from interlace.observability.tracing import OUTGOING, TRACEPARENT, Tracer
from interlace.types import JSON

log = logging.getLogger("interlace.worker")

DELIVERY_TIMEOUT = 300.0
"""A delivery (or batch) that has not finished in 5 minutes fails, and is retried by the flow's
policy; sinks' own timeouts (HTTP, database) normally answer long before."""


_BATCH = 500
"""Most items handed to one `deliver_many` call of a batched sink."""

_GATHER = 0.005
"""Seconds new work waits, while a batch is running, before it is leased (unless the batch ends
first)."""


def worker_id() -> str:
    """A name no other worker has, here or on another machine (an `id()` of a fresh object is
    not: the address of a freed one comes back, and two workers of one process would share it)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


class Worker:
    def __init__(
        self,
        backend: Backend,
        flows: dict[str, CompiledFlow],
        limits: dict[str, asyncio.Semaphore],
        *,
        concurrency: int = 16,
        lease: float = 30.0,
        poll: float = 0.2,
        trace: bool = True,
    ) -> None:
        self.backend = backend
        self.flows = flows
        self.limits = limits
        self.concurrency = concurrency
        self.lease = lease
        self.poll = poll
        self.trace_bodies = trace
        self.owner = worker_id()
        self.wakeup = asyncio.Event()
        self.on_settled: Callable[[], None] | None = None
        self._inflight = 0
        self._held: set[int] = set()
        self._slot = asyncio.Event()
        self._finished = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._beat: asyncio.Task[None] | None = None
        self.tracer: Tracer | None = None
        """Spans of steps and deliveries (observability/tracing.py); None: none are made."""

    # -- the dispatch loop ---------------------------------------------------------------
    async def run(self) -> None:
        self._beat = heartbeat = asyncio.create_task(self._heartbeat(), name="lease-heartbeat")
        try:
            await self._dispatch()
        finally:
            heartbeat.cancel()

    def heartbeat_alive(self) -> bool:
        return self._beat is not None and not self._beat.done()

    async def _heartbeat(self) -> None:
        """Every third of a lease, extend the leases of the items still running, so that only a
        worker that died (or hangs past its sinks' own timeouts) gives its items back."""
        while True:
            await asyncio.sleep(self.lease / 3)
            if self._held:
                try:
                    await self.backend.extend(self.owner, list(self._held), self.lease)
                except Exception:
                    log.exception("could not extend leases; they may be taken over")

    async def _dispatch(self) -> None:
        while not self._stopping:
            free = self.concurrency - self._inflight
            if free <= 0:
                self._slot.clear()
                await self._slot.wait()
                continue
            if self._inflight and not self._finished.is_set():
                # while a batch runs, new items gather for a moment: one lease, run and settle
                # then carries many of them instead of a few (their senders were answered already)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._finished.wait(), _GATHER)
                if self._stopping:
                    break
            self._finished.clear()
            self.wakeup.clear()
            try:
                items = await self.backend.lease(self.owner, free, self.lease)
            except Exception:  # the store refused a write (a full disk): wait, and lease again
                log.exception("could not lease work; trying again in %.1fs", self.poll)
                await asyncio.sleep(self.poll)
                continue
            if not items:
                try:
                    await asyncio.wait_for(self.wakeup.wait(), self.poll)
                except TimeoutError:
                    pass
                continue
            for batch in self._batches(items):
                self._inflight += len(batch)
                self._held.update(item.id for item in batch)
                task = asyncio.create_task(self._run_batch(batch))
                self._tasks.add(task)
                task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("work group failed", exc_info=task.exception())
        self._slot.set()
        self._finished.set()

    async def stop(self, grace: float = 10.0) -> None:
        """Stop leasing; let running items settle for up to `grace` seconds (the rest come back
        when their leases expire)."""
        self._stopping = True
        self._slot.set()
        self.wakeup.set()
        self._finished.set()
        deadline = time.monotonic() + grace
        # a lease that was on its way when stop() came starts its batches after this call: wait
        # for those too, or their items would wait for the end of their lease to run again
        while self._tasks and (left := deadline - time.monotonic()) > 0:
            await asyncio.wait(set(self._tasks), timeout=left)
            await asyncio.sleep(0)

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait until no work is pending (for tests and `interlace send --wait`)."""
        deadline = time.monotonic() + timeout
        while await self.backend.pending() > 0:
            if time.monotonic() > deadline:
                raise TimeoutError("work still pending")
            await asyncio.sleep(0.02)

    def _batches(self, items: list[WorkItem]) -> list[list[WorkItem]]:
        """One batch per flow: a flow's items settle together, and a slow system of one flow
        does not hold back the settling of another's."""
        batches: dict[str, list[WorkItem]] = defaultdict(list)
        for item in items:
            batches[item.message.flow].append(item)
        return list(batches.values())

    async def _run_batch(self, batch: list[WorkItem]) -> None:
        """Run a flow's leased items: their steps, then every delivery due now (those of items
        that just finished their steps included, so that a message needs no second lease to be
        delivered), then settle them all in one transaction."""
        try:
            flow = self.flows.get(batch[0].message.flow)
            if flow is None:
                outcomes = [self._unknown_flow(item) for item in batch]
            else:
                outcomes = await self._run_flow(flow, batch)
            if not self.trace_bodies:  # `hub.trace: false` keeps only what went wrong
                for outcome in outcomes:
                    outcome.traces = [t for t in outcome.traces if t.status in ("failed", "retry")]
            await self.backend.settle(outcomes)
            if self.on_settled is not None:
                self.on_settled()
        finally:
            self._inflight -= len(batch)
            self._held.difference_update(item.id for item in batch)

    async def _run_flow(self, flow: CompiledFlow, batch: list[WorkItem]) -> list[Settle]:
        outcomes: list[Settle] = []
        due: list[_Due] = []
        tracer = self.tracer
        for item in batch:
            if flow.is_delivery(item.position):
                outcome = Settle(item)
                due.append(_Due(outcome, item.message, item.position, item.attempts, leased=True))
            else:
                if tracer is None:
                    outcome, through = await self._run_steps(flow, item)
                else:
                    outcome, through = await self._traced_steps(tracer, flow, item)
                if through:  # every step passed: deliver on the way instead of queueing
                    due.extend(_Due(outcome, w.message, w.position, 0) for w in outcome.outputs)
                    outcome.outputs = []
            outcomes.append(outcome)
        if due:
            await self._deliver(flow, due)
        return outcomes

    # -- outcomes ----------------------------------------------------------------------
    def _trace(
        self,
        flow: CompiledFlow,
        msg: Message,
        position: int,
        status: TraceStatus,
        attempt: int,
        inp: JSON = None,
        out: JSON = None,
        error: str | None = None,
    ) -> TraceEntry:
        keep = self.trace_bodies or status in ("failed", "retry")
        return TraceEntry(
            msg.id,
            msg.correlation_id,
            flow.name,
            position,
            flow.stage(position),
            status,
            attempt,
            inp if keep else None,
            out if self.trace_bodies else None,
            error,
            time.time(),
        )

    def _unknown_flow(self, item: WorkItem) -> Settle:
        reason = f"flow {item.message.flow!r} is not in the running config"
        return Settle(item, park=True, reason=reason, stage="(unknown flow)")

    def _verdict(
        self,
        flow: CompiledFlow,
        attempts: int,
        exc: BaseException,
        msg: Message,
        position: int,
        traces: list[TraceEntry],
    ) -> float | ParkedException:
        """After a failure at `position` with `attempts` earlier ones: when to try again, or the
        exception to park. Appends the trace entry that says which."""
        attempt = attempts + 1
        stage = flow.stage(position)
        retryable = not isinstance(exc, StepError) and getattr(exc, "retryable", True)
        error = f"{type(exc).__name__}: {exc}" if not isinstance(exc, StepError | DeliveryError) else str(exc)
        if retryable and attempt < flow.attempts:
            wait = backoff(attempts, *flow.backoff)
            retry_after = getattr(exc, "retry_after", None)
            if retry_after is not None:
                wait = max(wait, float(retry_after))
            traces.append(self._trace(flow, msg, position, "retry", attempt, msg.body, error=error))
            flow.meters.failure(stage, "retry").inc()
            log.info("retry %s %s at %s in %.1fs: %s", flow.name, msg.id, stage, wait, error)
            return time.time() + wait
        reason = f"{stage}: {error}"
        if retryable:
            reason += f" (after {attempt} attempts)"
        traces.append(self._trace(flow, msg, position, "failed", attempt, msg.body, error=error))
        flow.meters.failure(stage, "parked").inc()
        flow.meters.exceptions.inc()
        log.info("parked %s %s for %s: %s", flow.name, msg.id, flow.owner or "(no owner)", reason)
        return ParkedException(msg, position, stage, flow.owner, reason)

    def _failure(
        self,
        flow: CompiledFlow,
        item: WorkItem,
        exc: BaseException,
        msg: Message,
        position: int,
        traces: list[TraceEntry],
    ) -> Settle:
        verdict = self._verdict(flow, item.attempts, exc, msg, position, traces)
        if isinstance(verdict, float):
            return Settle(item, traces, retry_at=verdict)
        return Settle(
            item,
            traces,
            park=True,
            owner=verdict.owner,
            reason=verdict.reason,
            message=msg,
            position=position,
            stage=verdict.stage,
        )

    async def _run_steps(self, flow: CompiledFlow, item: WorkItem) -> tuple[Settle, bool]:
        """Run the item's pure steps in memory; True with the outcome when every step passed and
        its outputs are the flow's deliveries."""
        msg = item.message  # fresh from the store: nothing else holds it
        traces: list[TraceEntry] = []
        position = item.position
        attempt = item.attempts + 1
        # with `hub.trace: false` only failures and retries are traced (spans are made from the
        # entries: with `hub.tracing` they are kept until the spans are, see _run_batch)
        keep = self.trace_bodies or self.tracer is not None
        started = time.perf_counter()
        while position < len(flow.steps):
            step = flow.steps[position]
            try:
                outcome = await step.run(msg) if isinstance(step, AsyncStep) else step.apply(msg)
            except Exception as exc:
                return self._failure(flow, item, exc, msg, position, traces), False
            if isinstance(outcome, Continue):
                if keep:
                    traces.append(self._trace(flow, msg, position, "ok", attempt, msg.body, outcome.body))
                msg.body = outcome.body
                position += 1
                continue
            if isinstance(outcome, Drop):
                if keep:
                    traces.append(self._trace(flow, msg, position, "filtered", attempt, msg.body, error=outcome.reason))
                return Settle(item, traces), False
            if isinstance(outcome, Split):
                children = [msg.child(str(i), body) for i, body in enumerate(outcome.bodies)]
                if keep:
                    traces.append(
                        self._trace(flow, msg, position, "split", attempt, msg.body, [c.id for c in children])
                    )
                return Settle(item, traces, outputs=[NewWork(c, position + 1) for c in children]), False
            if isinstance(outcome, Route):
                routed = msg.replace(flow=outcome.flow, attempt=0)
                if keep:
                    traces.append(self._trace(flow, msg, position, "routed", attempt, msg.body, outcome.flow))
                return Settle(item, traces, outputs=[NewWork(routed, 0)]), False
            if isinstance(outcome, Effects):
                if keep or outcome.tasks:  # a waiting message's trace says what it waits for
                    status: TraceStatus = "waiting" if outcome.tasks else "ok"
                    traces.append(self._trace(flow, msg, position, status, attempt, msg.body, outcome.summary))
                flow.steps_seconds.observe(time.perf_counter() - started)
                effects = Settle(
                    item, traces, outputs=outcome.outputs, golden=outcome.golden, exceptions=outcome.exceptions,
                    tasks=outcome.tasks,
                )
                return effects, False
        flow.steps_seconds.observe(time.perf_counter() - started)
        outputs = [NewWork(msg, len(flow.steps) + j) for j in range(len(flow.deliveries))]
        return Settle(item, traces, outputs=outputs), True

    async def _traced_steps(self, tracer: Tracer, flow: CompiledFlow, item: WorkItem) -> tuple[Settle, bool]:
        """`_run_steps`, and a span per step it ran, made from its trace entries afterwards (each
        step ends when its entry was written), under the message's `traceparent`."""
        parent = item.message.headers.get(TRACEPARENT)
        start = time.time_ns()
        outcome, through = await self._run_steps(flow, item)
        spans = []
        for t in outcome.traces:
            end = max(start, int(t.at * 1e9))
            spans.append((t.stage, start, end, t.error if t.status in ("failed", "retry") else None))
            start = end
        attributes: dict[str, str | int] = {"interlace.flow": flow.name, "interlace.message_id": item.message.id,
                                            "interlace.attempt": item.attempts + 1}  # fmt: skip
        tracer.spans(spans, parent, attributes)
        return outcome, through

    @staticmethod
    def _traced_call(
        tracer: Tracer, flow: CompiledFlow, system: str, call: Callable[[list[_Due]], Awaitable[list[JSON | Exception]]]
    ) -> Callable[[list[_Due]], Awaitable[list[JSON | Exception]]]:
        """`call` inside a `deliver <system>` span per message; a one-message call (every sink but
        the batched ones) also hands its span's `traceparent` to the sink (an HTTP sink sends it)."""

        async def traced(chunk: list[_Due]) -> list[JSON | Exception]:
            spans = []
            for d in chunk:
                attributes: dict[str, str | int] = {"interlace.flow": flow.name, "interlace.message_id": d.message.id,
                              "interlace.system": system, "interlace.attempt": d.attempts + 1}  # fmt: skip
                spans.append(tracer.start(f"deliver {system}", d.message.headers.get(TRACEPARENT), kind="client",
                                          attributes=attributes))  # fmt: skip
            if len(spans) == 1:  # this runs as a task of its own: the context variable is this call's
                OUTGOING.set(tracer.traceparent(spans[0]))
            results = await call(chunk)
            for span, result in zip(spans, results, strict=True):
                if isinstance(result, BaseException):
                    tracer.failed(span, f"{type(result).__name__}: {result}")
                span.end()
            return results

        return traced

    async def _deliver(self, flow: CompiledFlow, due: list[_Due]) -> None:
        """Make every due delivery, each delivery's items together, and write each result into
        the outcome of the item it belongs to."""
        groups: dict[int, list[_Due]] = defaultdict(list)
        for d in due:
            groups[d.position].append(d)
        await asyncio.gather(*(self._deliver_group(flow, position, ds) for position, ds in groups.items()))

    async def _deliver_group(self, flow: CompiledFlow, position: int, due: list[_Due]) -> None:
        delivery = flow.delivery(position)
        sink = delivery.sink
        limit = self.limits.get(delivery.system)
        started = time.perf_counter()

        async def call(chunk: list[_Due]) -> list[JSON | Exception]:
            batch = [(d.message, flow.delivery_id(d.message.id, position)) for d in chunk]
            try:
                if limit is not None:
                    await limit.acquire()
                try:
                    coro = sink.deliver_many(batch) if len(batch) > 1 else self._one(sink.deliver(*batch[0]))
                    return await asyncio.wait_for(coro, timeout=DELIVERY_TIMEOUT)
                finally:
                    if limit is not None:
                        limit.release()
            except Exception as exc:  # the whole call failed (a timeout, a lost connection)
                return [exc] * len(batch)

        # a batched sink takes the items together; any other gets one call per item, as many at
        # once as the system's concurrency allows
        chunks = [due[i : i + _BATCH] for i in range(0, len(due), _BATCH)] if sink.batched else [[d] for d in due]
        run = call if self.tracer is None else self._traced_call(self.tracer, flow, delivery.system, call)
        answers = await asyncio.gather(*(run(chunk) for chunk in chunks))
        took = time.perf_counter() - started
        meters = flow.meters
        meters.stage(delivery.stage).observe(took)
        failed = 0
        now = time.time()
        latencies: list[float] = []
        for chunk, results in zip(chunks, answers, strict=True):
            for d, result in zip(chunk, results, strict=True):
                if isinstance(result, BaseException):
                    failed += 1
                else:
                    latencies.append(now - d.message.created_at)
                self._record(flow, d, result)
        # counted once per batch, on children bound once (observability/metrics.py)
        meters.latency.observe_many(latencies)
        meters.deliveries(delivery.system, "ok").inc(len(latencies))
        if failed:
            meters.deliveries(delivery.system, "failed").inc(failed)
        # one line per batch: a line per message would cost more than the delivery at a few
        # thousand a second; each retry and parking has its own line (at info) in _verdict
        log.log(
            logging.INFO if failed else logging.DEBUG,
            "%s -> %s: %d delivered, %d failed in %.1f ms",
            flow.name, delivery.system, len(due) - failed, failed, took * 1000,
        )  # fmt: skip

    def _record(self, flow: CompiledFlow, d: _Due, result: JSON | Exception) -> None:
        """Write one delivery's result into its item's outcome."""
        outcome, msg, position = d.outcome, d.message, d.position
        if not isinstance(result, BaseException):
            if self.trace_bodies:
                outcome.traces.append(self._trace(flow, msg, position, "ok", d.attempts + 1, msg.body, result))
            outcome.delivered += 1
            return
        if d.leased:  # the item itself waits at this delivery: it is retried or parked
            vars(outcome).update(vars(self._failure(flow, outcome.item, result, msg, position, outcome.traces)))
            return
        # a delivery tried on the way: it becomes a work item of its own, due at its retry, or
        # an exception, while the item that carried it (and its other deliveries) is done
        verdict = self._verdict(flow, d.attempts, result, msg, position, outcome.traces)
        if isinstance(verdict, float):
            outcome.outputs.append(NewWork(msg, position, available_at=verdict, attempts=d.attempts + 1))
        else:
            outcome.exceptions.append(verdict)

    @staticmethod
    async def _one(call: Awaitable[JSON]) -> list[JSON | Exception]:
        try:
            return [await call]
        except Exception as exc:
            return [exc]


@dataclass(slots=True)
class _Due:
    """A delivery to make in this batch, and the outcome its result goes to."""

    outcome: Settle
    message: Message
    position: int
    attempts: int
    leased: bool = False
    """The item is leased at this delivery (not carried through from its steps)."""
