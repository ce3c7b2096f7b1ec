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
import logging
import os
import socket
import time
from collections import defaultdict
from collections.abc import Awaitable, Sequence

from interlace.backends.base import Backend, NewWork, Settle, TraceEntry, TraceStatus, WorkItem
from interlace.engine.flows import CompiledFlow
from interlace.engine.retry import backoff
from interlace.engine.steps import AsyncStep, Continue, Drop, Effects, Route, Split
from interlace.errors import DeliveryError, StepError
from interlace.message import Message
from interlace.observability import metrics
from interlace.types import JSON

log = logging.getLogger("interlace.worker")

DELIVERY_TIMEOUT = 300.0
"""A delivery (or batch) that has not finished in 5 minutes fails, and is retried by the flow's
policy; sinks' own timeouts (HTTP, database) normally answer long before."""


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{id(object()):x}"


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
        self._inflight = 0
        self._held: set[int] = set()
        self._slot = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False

    # -- the dispatch loop ---------------------------------------------------------------
    async def run(self) -> None:
        heartbeat = asyncio.create_task(self._heartbeat(), name="lease-heartbeat")
        try:
            await self._dispatch()
        finally:
            heartbeat.cancel()

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
            self.wakeup.clear()
            items = await self.backend.lease(self.owner, free, self.lease)
            if not items:
                try:
                    await asyncio.wait_for(self.wakeup.wait(), self.poll)
                except TimeoutError:
                    pass
                continue
            for group in self._groups(items):
                self._inflight += len(group)
                self._held.update(item.id for item in group)
                task = asyncio.create_task(self._run_group(group))
                self._tasks.add(task)
                task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("work group failed", exc_info=task.exception())
        self._slot.set()

    async def stop(self, grace: float = 10.0) -> None:
        """Stop leasing; let running items settle for up to `grace` seconds (the rest come back
        when their leases expire)."""
        self._stopping = True
        self._slot.set()
        self.wakeup.set()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=grace)

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait until no work is pending (for tests and `interlace send --wait`)."""
        deadline = time.monotonic() + timeout
        while await self.backend.pending() > 0:
            if time.monotonic() > deadline:
                raise TimeoutError("work still pending")
            await asyncio.sleep(0.02)

    def _groups(self, items: list[WorkItem]) -> list[list[WorkItem]]:
        groups: dict[tuple[str, int], list[WorkItem]] = defaultdict(list)
        single: list[list[WorkItem]] = []
        for item in items:
            flow = self.flows.get(item.message.flow)
            if flow is not None and flow.is_delivery(item.position):
                groups[(flow.name, item.position)].append(item)
            else:
                single.append([item])
        return single + list(groups.values())

    async def _run_group(self, group: list[WorkItem]) -> None:
        try:
            flow = self.flows.get(group[0].message.flow)
            if flow is None:
                outcomes = [self._unknown_flow(item) for item in group]
            elif flow.is_delivery(group[0].position):
                outcomes = await self._deliver(flow, group)
            else:
                outcomes = [await self._run_steps(flow, group[0])]
            if not self.trace_bodies:  # `hub.trace: false` keeps only what went wrong
                for outcome in outcomes:
                    outcome.traces = [t for t in outcome.traces if t.status in ("failed", "retry")]
            await self.backend.settle(outcomes)
        finally:
            self._inflight -= len(group)
            self._held.difference_update(item.id for item in group)

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

    def _failure(
        self,
        flow: CompiledFlow,
        item: WorkItem,
        exc: BaseException,
        msg: Message,
        position: int,
        traces: list[TraceEntry],
    ) -> Settle:
        attempt = item.attempts + 1
        stage = flow.stage(position)
        retryable = not isinstance(exc, StepError) and getattr(exc, "retryable", True)
        error = f"{type(exc).__name__}: {exc}" if not isinstance(exc, StepError | DeliveryError) else str(exc)
        if retryable and attempt < flow.attempts:
            wait = backoff(item.attempts, *flow.backoff)
            retry_after = getattr(exc, "retry_after", None)
            if retry_after is not None:
                wait = max(wait, float(retry_after))
            traces.append(self._trace(flow, msg, position, "retry", attempt, msg.body, error=error))
            return Settle(item, traces, retry_at=time.time() + wait)
        reason = f"{stage}: {error}"
        if retryable:
            reason += f" (after {attempt} attempts)"
        traces.append(self._trace(flow, msg, position, "failed", attempt, msg.body, error=error))
        metrics.EXCEPTIONS.labels(flow.name, flow.owner or "").inc()
        return Settle(
            item,
            traces,
            park=True,
            owner=flow.owner,
            reason=reason,
            message=msg,
            position=position,
            stage=stage,
        )

    async def _run_steps(self, flow: CompiledFlow, item: WorkItem) -> Settle:
        msg = item.message.model_copy()  # fresh from the store: nothing else holds it
        traces: list[TraceEntry] = []
        position = item.position
        attempt = item.attempts + 1
        started = time.perf_counter()
        while position < len(flow.steps):
            step = flow.steps[position]
            try:
                outcome = await step.run(msg) if isinstance(step, AsyncStep) else step.apply(msg)
            except Exception as exc:
                return self._failure(flow, item, exc, msg, position, traces)
            if isinstance(outcome, Continue):
                traces.append(self._trace(flow, msg, position, "ok", attempt, msg.body, outcome.body))
                msg.body = outcome.body
                position += 1
                continue
            if isinstance(outcome, Drop):
                traces.append(
                    self._trace(flow, msg, position, "filtered", attempt, msg.body, error=outcome.reason)
                )
                return Settle(item, traces)
            if isinstance(outcome, Split):
                children = [msg.child(str(i), body) for i, body in enumerate(outcome.bodies)]
                traces.append(
                    self._trace(flow, msg, position, "split", attempt, msg.body, [c.id for c in children])
                )
                return Settle(item, traces, outputs=[NewWork(c, position + 1) for c in children])
            if isinstance(outcome, Route):
                routed = msg.model_copy(update={"flow": outcome.flow, "attempt": 0})
                traces.append(self._trace(flow, msg, position, "routed", attempt, msg.body, outcome.flow))
                return Settle(item, traces, outputs=[NewWork(routed, 0)])
            if isinstance(outcome, Effects):
                traces.append(self._trace(flow, msg, position, "ok", attempt, msg.body, outcome.summary))
                metrics.STAGE_SECONDS.labels(flow.name, "steps").observe(time.perf_counter() - started)
                return Settle(
                    item, traces, outputs=outcome.outputs, golden=outcome.golden, exceptions=outcome.exceptions
                )
        metrics.STAGE_SECONDS.labels(flow.name, "steps").observe(time.perf_counter() - started)
        outputs = [NewWork(msg, len(flow.steps) + j) for j in range(len(flow.deliveries))]
        return Settle(item, traces, outputs=outputs)

    async def _deliver(self, flow: CompiledFlow, items: Sequence[WorkItem]) -> list[Settle]:
        position = items[0].position
        delivery = flow.delivery(position)
        batch = [(item.message, flow.delivery_id(item.message.id, position)) for item in items]
        started = time.perf_counter()
        limit = self.limits.get(delivery.system)
        try:
            if limit is not None:
                await limit.acquire()
            try:
                call = (
                    delivery.sink.deliver_many(batch)
                    if len(batch) > 1
                    else self._one(delivery.sink.deliver(*batch[0]))
                )
                results = await asyncio.wait_for(call, timeout=DELIVERY_TIMEOUT)
            finally:
                if limit is not None:
                    limit.release()
        except Exception as exc:  # the whole batch failed (a timeout, a lost connection)
            results = [exc] * len(items)
        metrics.STAGE_SECONDS.labels(flow.name, delivery.stage).observe(time.perf_counter() - started)
        outcomes = []
        for item, result in zip(items, results, strict=True):
            msg = item.message
            if isinstance(result, BaseException):
                metrics.DELIVERIES.labels(flow.name, delivery.system, "failed").inc()
                outcomes.append(self._failure(flow, item, result, msg, position, []))
            else:
                metrics.DELIVERIES.labels(flow.name, delivery.system, "ok").inc()
                trace = self._trace(flow, msg, position, "ok", item.attempts + 1, msg.body, result)
                outcomes.append(Settle(item, [trace], delivered=1))
        return outcomes

    @staticmethod
    async def _one(call: Awaitable[JSON]) -> list[JSON | Exception]:
        try:
            return [await call]
        except Exception as exc:
            return [exc]
