"""Prometheus metrics, served at /metrics.

Per flow: messages in (`received`), deliveries out and failed (per system), failed attempts by
verdict (retried, parked), exceptions parked, the time of each stage (a batch of steps, one
delivery call) and of each message from arrival to delivery; at scrape time, each flow's backlog
and open exceptions (read from the store by `web/status.py`). System-wide: notices sent to owners.

The per-message path never looks a label up: `FlowMeters` binds a flow's children once (each
`labels()` call costs a dictionary lookup under a lock), and the worker counts a batch's
deliveries once per batch.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Gauge, Histogram

_SECONDS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

RECEIVED = Counter("interlace_messages_received", "Messages accepted by the hub", ["flow"])
STAGE_SECONDS = Histogram(
    "interlace_stage_seconds",
    "Time to run a flow stage (the steps of one work item, or one delivery)",
    ["flow", "stage"],
    buckets=_SECONDS,
)
LATENCY = Histogram(
    "interlace_message_latency_seconds",
    "From a message's arrival at the hub to its delivery, per delivery made (retries included)",
    ["flow"],
    buckets=(*_SECONDS, 30, 60, 300, 900, 3600),
)
DELIVERIES = Counter("interlace_deliveries", "Delivery attempts by outcome", ["flow", "system", "outcome"])
FAILURES = Counter(
    "interlace_failures",
    "Failed attempts at a stage (a step or a delivery), by verdict: retry (tried again later) or parked",
    ["flow", "stage", "verdict"],
)
EXCEPTIONS = Counter("interlace_exceptions", "Messages parked as exceptions", ["flow", "owner"])
BACKLOG = Gauge("interlace_backlog", "Work items of a flow not yet settled (read from the store at scrape)", ["flow"])
EXCEPTIONS_OPEN = Gauge(
    "interlace_exceptions_open", "Parked exceptions waiting for their owner (read from the store at scrape)",
    ["flow", "owner"],
)  # fmt: skip
NOTICES = Counter(
    "interlace_notices", "Digests of parked exceptions sent to owners, by outcome", ["channel", "outcome"]
)


class FlowMeters:
    """One flow's metric children, each bound on first use and kept."""

    def __init__(self, flow: str, owner: str | None) -> None:
        self.flow = flow
        self.received = RECEIVED.labels(flow)
        self.latency = LATENCY.labels(flow)
        self.exceptions = EXCEPTIONS.labels(flow, owner or "")
        self._stage: dict[str, Any] = {}
        self._delivered: dict[str, Any] = {}
        self._failed: dict[str, Any] = {}
        self._failures: dict[tuple[str, str], Any] = {}

    def stage(self, stage: str) -> Any:
        child = self._stage.get(stage)
        if child is None:
            child = self._stage[stage] = STAGE_SECONDS.labels(self.flow, stage)
        return child

    def delivered(self, system: str) -> Any:
        child = self._delivered.get(system)
        if child is None:
            child = self._delivered[system] = DELIVERIES.labels(self.flow, system, "ok")
        return child

    def failed(self, system: str) -> Any:
        child = self._failed.get(system)
        if child is None:
            child = self._failed[system] = DELIVERIES.labels(self.flow, system, "failed")
        return child

    def failure(self, stage: str, verdict: str) -> Any:
        child = self._failures.get((stage, verdict))
        if child is None:
            child = self._failures[stage, verdict] = FAILURES.labels(self.flow, stage, verdict)
        return child
