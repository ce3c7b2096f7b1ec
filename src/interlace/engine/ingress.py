"""The hub's way in: sources hand records here; they are stored durably before anyone is told yes."""

from __future__ import annotations

import time
from collections.abc import Sequence

from interlace.backends.base import Backend, NewWork, TraceEntry
from interlace.connectors.base import Incoming
from interlace.engine.flows import CompiledFlow
from interlace.errors import ValidationFailed
from interlace.message import Message
from interlace.observability import metrics
from interlace.types import JSON


class HubIngress:
    def __init__(self, backend: Backend, flows: dict[str, CompiledFlow], *, trace: bool = True) -> None:
        self.backend = backend
        self.flows = flows
        self.trace = trace

    def flows_for(self, system: str, event: str | None) -> list[str]:
        out = []
        for name, flow in self.flows.items():
            trigger = flow.config.trigger
            if trigger.system == system and (trigger.event is None or trigger.event == event):
                out.append(name)
        return out

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
        traces = [
            TraceEntry(
                msg.id,
                msg.correlation_id,
                flow.name,
                0,
                "received",
                "received",
                0,
                item.body,
                at=now,
            )
        ]
        position = 0
        if validate:
            for step in flow.leading_validates:
                errors = step.errors(item.body)
                if errors:
                    raise ValidationFailed(step.entity, errors)
                traces.append(
                    TraceEntry(
                        msg.id,
                        msg.correlation_id,
                        flow.name,
                        position,
                        step.name,
                        "ok",
                        1,
                        None,
                        None,
                        at=now,
                    )
                )
                position += 1
        key = f"{flow.name}:{item.idempotency_key}" if item.idempotency_key is not None else None
        return NewWork(msg, position, idempotency_key=key), traces if self.trace else []

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
        ids = await self.backend.enqueue(work, cursor=cursor, traces=traces)
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
        ids = await self.backend.enqueue(work, traces=traces)
        for name in names:
            metrics.RECEIVED.labels(name).inc()
        return dict(zip(names, ids, strict=True))

    async def load_cursor(self, name: str) -> JSON:
        return await self.backend.load_cursor(name)
