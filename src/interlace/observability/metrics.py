"""Prometheus metrics, served at /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

RECEIVED = Counter("interlace_messages_received", "Messages accepted by the hub", ["flow"])
STAGE_SECONDS = Histogram(
    "interlace_stage_seconds",
    "Time to run a flow stage (the steps of one work item, or one delivery)",
    ["flow", "stage"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
DELIVERIES = Counter("interlace_deliveries", "Delivery attempts by outcome", ["flow", "system", "outcome"])
EXCEPTIONS = Counter("interlace_exceptions", "Messages parked as exceptions", ["flow", "owner"])
