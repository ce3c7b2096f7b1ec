"""/metrics per flow and system, read back with Prometheus's own parser: in, out, failed (by
verdict), parked, latency histograms, and at scrape time the backlog and the open exceptions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from interlace.config.loader import load_config
from interlace.connectors.base import Incoming
from interlace.hub import Hub
from interlace.observability.metrics import BatchHistogram

from support import closed_port

# Flow names of their own: the metrics are the process's, shared with the other tests run in it.
CONFIG = """
hub: {{name: metered, lease: 5s, open_metrics: true}}
owners: {{ops: {{email: ops@x.test}}}}
systems:
  shop: {{connector: webhook}}
  db: {{connector: sqlite, path: ./out.db, setup: ./schema.sql}}
  down: {{connector: http, base_url: "http://127.0.0.1:{port}/api", timeout: 2}}
entities:
  order:
    key: id
    schema: {{type: object, required: [id]}}
flows:
  metered:
    trigger: {{system: shop, event: order}}
    steps: [{{validate: order}}]
    deliver: {{system: db, table: orders, mode: insert}}
    on_error: {{owner: ops}}
  metered-down:
    trigger: {{system: shop, event: note}}
    deliver: {{system: down, path: /notes}}
    on_error: {{owner: ops, retry: {{attempts: 2, backoff: 10ms}}}}
"""


@pytest.fixture
async def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Hub]:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "schema.sql").write_text("CREATE TABLE IF NOT EXISTS orders (id TEXT);")
    with closed_port() as port:
        (tmp_path / "hub.yaml").write_text(CONFIG.format(port=port))
        hub = Hub(load_config(tmp_path / "hub.yaml"))
        await hub.start(workers=False, sources=False)
        yield hub
        await hub.stop()


async def scrape(hub: Hub) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    transport = httpx.ASGITransport(app=hub.app())
    async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
        r = await client.get("/metrics")
    assert r.status_code == 200
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_metrics_per_flow_and_system(hub: Hub) -> None:
    await hub.ingress.submit("metered", [Incoming({"id": str(i)}) for i in range(5)])
    await hub.ingress.submit("metered", [Incoming({"no_id": i}) for i in range(2)])
    await hub.ingress.submit("metered-down", [Incoming({"text": "n"})])
    before = await scrape(hub)
    assert value(before, "interlace_backlog", flow="metered") == 7
    assert value(before, "interlace_backlog", flow="metered-down") == 1

    hub._tasks.append(asyncio.create_task(hub.worker.run(), name="worker"))
    await hub.worker.drain()
    m = await scrape(hub)
    assert value(m, "interlace_messages_received_total", flow="metered") == 7
    assert value(m, "interlace_deliveries_total", flow="metered", system="db", outcome="ok") == 5
    assert value(m, "interlace_failures_total", flow="metered", stage="validate:order", verdict="parked") == 2
    assert value(m, "interlace_exceptions_total", flow="metered", owner="ops") == 2
    assert value(m, "interlace_exceptions_open", flow="metered", owner="ops") == 2
    assert value(m, "interlace_backlog", flow="metered") == 0, "an emptied backlog reads 0, not its last value"
    assert value(m, "interlace_stage_seconds_count", flow="metered", stage="steps") == 5
    assert value(m, "interlace_stage_seconds_count", flow="metered", stage="deliver:db") >= 1
    assert value(m, "interlace_message_latency_seconds_count", flow="metered") == 5
    assert value(m, "interlace_message_latency_seconds_bucket", flow="metered", le="+Inf") == 5
    assert value(m, "interlace_message_latency_seconds_sum", flow="metered") > 0

    down = {"flow": "metered-down", "system": "down"}
    assert value(m, "interlace_deliveries_total", **down, outcome="failed") == 2
    assert value(m, "interlace_deliveries_total", **down, outcome="ok") == 0
    stage = {"flow": "metered-down", "stage": "deliver:down"}
    assert value(m, "interlace_failures_total", **stage, verdict="retry") == 1
    assert value(m, "interlace_failures_total", **stage, verdict="parked") == 1
    assert value(m, "interlace_exceptions_open", flow="metered-down", owner="ops") == 1

    for exc in await hub.backend.exceptions(flow="metered"):
        await hub.backend.discard_exception(exc.id)
    after = await scrape(hub)
    assert value(after, "interlace_exceptions_open", flow="metered", owner="ops") == 0


def test_batch_histogram_buckets_are_cumulative() -> None:
    h = BatchHistogram("interlace_test_seconds", "a test histogram", ["flow"], [0.1, 1.0])
    child = h.labels("f")
    child.observe_many([0.05, 0.1, 0.5, 2.0])
    child.observe(0.01)
    [family] = list(h.collect())
    got = {(s.name, s.labels.get("le")): s.value for s in family.samples}
    assert got[("interlace_test_seconds_bucket", "0.1")] == 3
    assert got[("interlace_test_seconds_bucket", "1.0")] == 4
    assert got[("interlace_test_seconds_bucket", "+Inf")] == 5
    assert got[("interlace_test_seconds_count", None)] == 5
    assert got[("interlace_test_seconds_sum", None)] == pytest.approx(2.66)
    assert h.labels("f") is child, "a child is made once"
