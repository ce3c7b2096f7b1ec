"""OpenTelemetry spans across a message's way: ingress, each step, each delivery, exported by
OTLP/HTTP when `hub.tracing` is configured.

The trace context travels in the message (its `traceparent` header, W3C Trace Context), so the
spans of one message share one trace id across the store, retries, processes and restarts; an
HTTP delivery sends its own span's `traceparent` to the system it calls (`OUTGOING`).

Without `hub.tracing` nothing here is imported by the hub's paths and no span object is made:
the ingress and the worker hold `tracer = None` and test it once per message or batch. The
OpenTelemetry SDK is imported only when a `Tracer` is made.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from typing import Any

TRACEPARENT = "traceparent"

OUTGOING: ContextVar[str | None] = ContextVar("interlace_outgoing_traceparent", default=None)
"""The `traceparent` of the delivery span running in this task: an HTTP sink sends it."""


def outgoing_headers(headers: dict[str, str]) -> dict[str, str]:
    """`headers` with the running delivery's `traceparent`, when one is traced."""
    parent = OUTGOING.get()
    if parent is not None:
        headers[TRACEPARENT] = parent
    return headers


class Tracer:
    """The hub's spans: a tracer provider of its own (not the process's global one, so that hubs
    in one process, and a reload, do not share or replace each other's), a batch processor that
    exports in a background thread, and the OTLP/HTTP exporter."""

    def __init__(
        self,
        endpoint: str,
        service_name: str,
        *,
        headers: Mapping[str, str] | None = None,
        sample: float = 1.0,
        timeout: float = 10.0,
        exporter: Any = None,
    ) -> None:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
        from opentelemetry.trace import SpanKind, Status, StatusCode, set_span_in_context
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        if exporter is None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter(endpoint=endpoint, headers=dict(headers or {}), timeout=timeout)
        self.provider = TracerProvider(
            resource=Resource.create({"service.name": service_name}),
            sampler=ParentBased(TraceIdRatioBased(sample)),
        )
        self.provider.add_span_processor(BatchSpanProcessor(exporter))
        self._tracer = self.provider.get_tracer("interlace")
        self._propagator = TraceContextTextMapPropagator()
        self._in_context = set_span_in_context
        self._kinds = {"server": SpanKind.SERVER, "client": SpanKind.CLIENT, "consumer": SpanKind.CONSUMER,
                       "internal": SpanKind.INTERNAL}  # fmt: skip
        self._error = Status(StatusCode.ERROR)
        self._status = Status
        self._code = StatusCode

    def start(
        self,
        name: str,
        parent: str | None,
        *,
        kind: str = "internal",
        attributes: Mapping[str, str | int] | None = None,
        start_ns: int | None = None,
    ) -> Any:
        """A started span under the `traceparent` `parent` (None, or one that does not parse: the
        root of a new trace)."""
        context = self._propagator.extract({TRACEPARENT: parent}) if parent else None
        return self._tracer.start_span(
            name, context=context, kind=self._kinds[kind], attributes=attributes, start_time=start_ns
        )

    def failed(self, span: Any, error: str) -> None:
        span.set_status(self._status(self._code.ERROR, error[:500]))

    @staticmethod
    def traceparent(span: Any) -> str:
        c = span.get_span_context()
        return f"00-{c.trace_id:032x}-{c.span_id:016x}-{int(c.trace_flags):02x}"

    def spans(
        self,
        names: Sequence[tuple[str, int, int, str | None]],
        parent: str | None,
        attributes: Mapping[str, str | int],
    ) -> None:
        """Spans already run, one per (name, start ns, end ns, error or None), under `parent`."""
        for name, start, end, error in names:
            span = self.start(name, parent, attributes=attributes, start_ns=start)
            if error is not None:
                self.failed(span, error)
            span.end(end_time=end)

    def flush(self, timeout: float = 10.0) -> bool:
        return bool(self.provider.force_flush(int(timeout * 1000)))

    def shutdown(self) -> None:
        self.provider.shutdown()
