"""Prometheus metrics, served at /metrics.

Per flow: messages in (`received`), deliveries out and failed (per system), failed attempts by
verdict (retried later, or parked), exceptions parked, the time of each stage (the steps of a
work item, a delivery call) and of each message from arrival to delivery; at scrape time, each
flow's backlog and open exceptions (read from the store by `web/status.py`). System-wide: the
digests sent to owners.

The per-message path never looks a label up and takes no lock: `FlowMeters` binds a flow's
children once (a `labels()` call costs a dictionary lookup under a lock), the worker counts a
batch's deliveries once per batch, and the two histograms are `BatchHistogram`s, which take a
batch's values in one call as plain list increments (the event loop is their only writer; a
scrape runs on the same loop).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from prometheus_client import REGISTRY, Counter, Gauge
from prometheus_client.metrics_core import HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

_SECONDS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class HistogramChild:
    """One label set's buckets: `counts[i]` values fell in bucket i (the last one: above every bound)."""

    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.total += value

    def observe_many(self, values: Iterable[float]) -> None:
        bounds, counts, total = self.bounds, self.counts, 0.0
        for value in values:
            counts[bisect_left(bounds, value)] += 1
            total += value
        self.total += total


class BatchHistogram(Collector):
    """A histogram (the same `_bucket`, `_sum`, `_count` series as prometheus_client's) whose
    children take values without a lock, alone or a batch at a time."""

    def __init__(self, name: str, documentation: str, labels: Sequence[str], buckets: Sequence[float]) -> None:
        self.name = name
        self.documentation = documentation
        self.label_names = tuple(labels)
        self.bounds = tuple(sorted(buckets))
        self._children: dict[tuple[str, ...], HistogramChild] = {}
        REGISTRY.register(self)

    def labels(self, *values: str) -> HistogramChild:
        child = self._children.get(values)
        if child is None:
            child = self._children[values] = HistogramChild(self.bounds)
        return child

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.label_names)
        for values, child in list(self._children.items()):
            running, buckets = 0, []
            for bound, n in zip((*self.bounds, float("inf")), child.counts, strict=True):
                running += n
                buckets.append(("+Inf" if bound == float("inf") else repr(bound), float(running)))
            family.add_metric(list(values), buckets, child.total)
        yield family


RECEIVED = Counter("interlace_messages_received", "Messages accepted by the hub", ["flow"])
STAGE_SECONDS = BatchHistogram(
    "interlace_stage_seconds",
    "Time to run a flow stage (the steps of one work item, or one delivery call)",
    ["flow", "stage"],
    _SECONDS,
)
LATENCY = BatchHistogram(
    "interlace_message_latency_seconds",
    "From a message's arrival at the hub to each of its deliveries (retries included)",
    ["flow"],
    (*_SECONDS, 30.0, 60.0, 300.0, 900.0, 3600.0),
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
    "interlace_exceptions_open",
    "Parked exceptions waiting for their owner (read from the store at scrape)",
    ["flow", "owner"],
)
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
        self._stage: dict[str, HistogramChild] = {}
        self._deliveries: dict[tuple[str, str], Any] = {}
        self._failures: dict[tuple[str, str], Any] = {}

    def stage(self, stage: str) -> HistogramChild:
        child = self._stage.get(stage)
        if child is None:
            child = self._stage[stage] = STAGE_SECONDS.labels(self.flow, stage)
        return child

    def deliveries(self, system: str, outcome: str) -> Any:
        child = self._deliveries.get((system, outcome))
        if child is None:
            child = self._deliveries[system, outcome] = DELIVERIES.labels(self.flow, system, outcome)
        return child

    def failure(self, stage: str, verdict: str) -> Any:
        child = self._failures.get((stage, verdict))
        if child is None:
            child = self._failures[stage, verdict] = FAILURES.labels(self.flow, stage, verdict)
        return child
