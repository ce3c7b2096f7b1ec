"""OpenTelemetry across a message's way: an OTLP/HTTP receiver in the test (a real HTTP server that
decodes the collector protocol's protobuf export requests) gets the spans of one message, from
the webhook through its steps to its deliveries (a failed one and its retry, after a trip through
the store), all in one trace, whose id also reached the HTTP system in `traceparent`. Without
`hub.tracing`, no span is made and OpenTelemetry is not even imported."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from interlace.config.loader import load_config
from interlace.hub import Hub

from support import serving

CONFIG = """
hub:
  name: traced
  trace: {trace}
  {tracing}
systems:
  shop: {{connector: webhook}}
  crm: {{connector: http, base_url: "http://127.0.0.1:{crm}/api"}}
entities:
  order:
    key: id
    schema: {{type: object, required: [id]}}
flows:
  orders:
    trigger: {{system: shop, event: order}}
    steps:
      - validate: order
      - map: '{{"order_no": id}}'
    deliver: {{system: crm, method: POST, path: /orders}}
    on_error: {{retry: {{attempts: 3, backoff: 10ms}}}}
"""

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


class Collector:
    """The OTLP/HTTP traces endpoint of a collector: decodes each ExportTraceServiceRequest."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def app(self) -> Starlette:
        async def export(request: Request) -> Response:
            assert request.headers["content-type"] == "application/x-protobuf"
            decoded = ExportTraceServiceRequest.FromString(await request.body())
            with self.lock:
                for resource_spans in decoded.resource_spans:
                    resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
                    for scope in resource_spans.scope_spans:
                        for s in scope.spans:
                            self.spans.append({
                                "name": s.name, "trace_id": s.trace_id.hex(), "span_id": s.span_id.hex(),
                                "parent": s.parent_span_id.hex(), "kind": s.kind, "status": s.status.code,
                                "start": s.start_time_unix_nano, "end": s.end_time_unix_nano,
                                "attributes": {a.key: a.value.string_value or a.value.int_value for a in s.attributes},
                                "service": resource.get("service.name"),
                            })  # fmt: skip
            return Response(ExportTraceServiceResponse().SerializeToString(), media_type="application/x-protobuf")

        return Starlette(routes=[Route("/v1/traces", export, methods=["POST"])])

    def of_trace(self, trace_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [s for s in self.spans if s["trace_id"] == trace_id]


class Crm:
    """The HTTP system: answers 503 to the first request, then 201; keeps each request's headers."""

    def __init__(self) -> None:
        self.headers: list[dict[str, str]] = []

    def app(self) -> Starlette:
        async def orders(request: Request) -> JSONResponse:
            self.headers.append(dict(request.headers))
            return JSONResponse({}, status_code=503 if len(self.headers) == 1 else 201)

        return Starlette(routes=[Route("/api/orders", orders, methods=["POST"])])


@pytest.fixture
def collector() -> Iterator[tuple[Collector, int]]:
    c = Collector()
    with serving(c.app()) as port:
        yield c, port


@pytest.fixture
def crm() -> Iterator[tuple[Crm, int]]:
    c = Crm()
    with serving(c.app()) as port:
        yield c, port


def _config(tmp_path: Path, crm_port: int, otlp_port: int | None, trace: bool = True) -> Path:
    tracing = (
        f'tracing: {{endpoint: "http://127.0.0.1:{otlp_port}/v1/traces", service_name: traced-hub}}'
        if otlp_port is not None
        else ""
    )
    path = tmp_path / "hub.yaml"
    path.write_text(CONFIG.format(tracing=tracing, crm=crm_port, trace="true" if trace else "false"))
    return path


async def _send_one(hub: Hub, headers: dict[str, str]) -> str:
    transport = httpx.ASGITransport(app=hub.app())
    async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
        r = await client.post("/hooks/shop/order", json={"id": "A1"}, headers=headers)
    assert r.status_code == 202, r.text
    await hub.worker.drain()
    return str(r.json()["id"])


@pytest.mark.parametrize("trace", [True, False], ids=["hub.trace", "no hub.trace"])
async def test_one_trace_across_ingress_steps_and_delivery_reaches_the_http_system(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, collector: tuple[Collector, int], crm: tuple[Crm, int],
    trace: bool,
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    (received, otlp_port), (system, crm_port) = collector, crm
    hub = Hub(load_config(_config(tmp_path, crm_port, otlp_port, trace)))
    await hub.start(sources=False)
    try:
        assert hub.tracer is not None and hub.worker.tracer is hub.tracer and hub.ingress.tracer is hub.tracer
        message_id = await _send_one(hub, {"traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"})
        assert len(system.headers) == 2, "a 503, then the retry from the store"
        await asyncio.to_thread(hub.tracer.flush)
        deadline = time.monotonic() + 30
        while len(received.of_trace(CALLER_TRACE)) < 5 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    finally:
        await hub.stop()

    spans = received.of_trace(CALLER_TRACE)
    assert sorted(s["name"] for s in spans) == ["deliver crm", "deliver crm", "map", "receive orders", "validate:order"]
    assert all(s["service"] == "traced-hub" for s in spans)
    assert all(s["attributes"]["interlace.message_id"] == message_id for s in spans)
    [ingress] = [s for s in spans if s["name"] == "receive orders"]
    assert ingress["parent"] == CALLER_SPAN, "the sender's trace is carried on"
    assert ingress["kind"] == 2  # SPAN_KIND_SERVER
    for s in spans:
        if s is not ingress:
            assert s["parent"] == ingress["span_id"], f"{s['name']} is under the message's span"
    first, retry = sorted((s for s in spans if s["name"] == "deliver crm"), key=lambda s: s["start"])
    assert first["kind"] == retry["kind"] == 3  # SPAN_KIND_CLIENT
    assert first["status"] == 2 and retry["status"] != 2  # STATUS_CODE_ERROR, then not
    assert (first["attributes"]["interlace.attempt"], retry["attributes"]["interlace.attempt"]) == (1, 2)
    sent = [h["traceparent"] for h in system.headers]
    assert sent == [f"00-{CALLER_TRACE}-{first['span_id']}-01", f"00-{CALLER_TRACE}-{retry['span_id']}-01"]


async def test_without_tracing_no_span_is_made_and_no_traceparent_is_sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, crm: tuple[Crm, int]
) -> None:
    monkeypatch.chdir(tmp_path)
    system, crm_port = crm
    hub = Hub(load_config(_config(tmp_path, crm_port, None)))
    await hub.start(sources=False)
    try:
        assert hub.tracer is None and hub.worker.tracer is None and hub.ingress.tracer is None
        await _send_one(hub, {})
    finally:
        await hub.stop()
    assert len(system.headers) == 2 and all("traceparent" not in h for h in system.headers)


def test_without_tracing_opentelemetry_is_not_imported(tmp_path: Path, crm: tuple[Crm, int]) -> None:
    config = _config(tmp_path, crm[1], None)
    script = f"""
import asyncio, os, sys
os.chdir({str(tmp_path)!r})
from interlace.config.loader import load_config
from interlace.connectors.base import Incoming
from interlace.hub import Hub

async def main():
    hub = Hub(load_config({str(config)!r}))
    await hub.start(sources=False)
    await hub.ingress.submit("orders", [Incoming({{"id": str(i)}}) for i in range(20)])
    await hub.worker.drain()
    await hub.app()({{"type": "http", "method": "GET", "path": "/healthz", "headers": [], "query_string": b""}},
                    None, lambda m: asyncio.sleep(0))
    await hub.stop()

asyncio.run(main())
print(sorted(m for m in sys.modules if m.startswith("opentelemetry")))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
