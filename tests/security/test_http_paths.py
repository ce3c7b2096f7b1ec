"""Defect 6: `.` and `..` as a path value changed an HTTP delivery's path (`PUT /orders/{v}/items`
with v=".." arrived as `PUT /api/items`). Such values, plain or percent-encoded, are refused: not
retried, parked with a reason that names the field. Against a real HTTP server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from interlace.config.loader import load_config
from interlace.connectors.base import Incoming
from interlace.connectors.http import HttpConnector
from interlace.connectors.http.settings import HttpDelivery, HttpSettings
from interlace.errors import DeliveryError
from interlace.hub import Hub
from interlace.message import Message

from support import serve

arrived: list[tuple[str, bytes]] = []


async def record(request: Request) -> JSONResponse:
    arrived.append((request.method, request.scope["raw_path"]))
    return JSONResponse({"ok": True})


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    app = Starlette(routes=[Route("/{path:path}", record, methods=["PUT", "POST"])])
    with serve(app) as p:
        yield p


@pytest.fixture
def connector(port: int) -> Iterator[HttpConnector]:
    arrived.clear()
    yield HttpConnector("crm", HttpSettings.model_validate({"base_url": f"http://127.0.0.1:{port}/api/v1/tenant-42"}))


async def put(connector: HttpConnector, value: Any) -> Any:
    sink = connector.sink(HttpDelivery.model_validate({"method": "PUT", "path": "/orders/{v}/items"}))
    try:
        return await sink.deliver(Message(flow="f", body={"v": value}), "d-1")
    finally:
        await connector.close()


@pytest.mark.parametrize(
    "value", [".", "..", "%2e", "%2E%2e", ".%2E", "%252e%252e", "..%2f..", "a/../b", "..\\admin", "%2e%2e%5cx"]
)
async def test_a_dot_segment_value_is_refused_and_nothing_is_sent(connector: HttpConnector, value: str) -> None:
    with pytest.raises(DeliveryError) as info:
        await put(connector, value)
    assert not info.value.retryable
    assert "path field 'v'" in str(info.value) and "dot segment" in str(info.value)
    assert arrived == []


@pytest.mark.parametrize(
    ("value", "raw"),
    [("1.5", b"1.5"), ("...", b"..."), ("a..b", b"a..b"), (".hidden", b".hidden"), ("a/b", b"a%2Fb"), (7, b"7")],
)
async def test_other_values_with_dots_arrive_as_one_segment(connector: HttpConnector, value: Any, raw: bytes) -> None:
    assert await put(connector, value) == {"status": 200}
    assert arrived == [("PUT", b"/api/v1/tenant-42/orders/" + raw + b"/items")]


async def test_a_dot_segment_in_the_template_itself_is_refused(connector: HttpConnector) -> None:
    sink = connector.sink(HttpDelivery.model_validate({"path": "/../../admin"}))
    with pytest.raises(DeliveryError, match="dot segment"):
        await sink.deliver(Message(flow="f", body={}), "d-2")
    await connector.close()
    assert arrived == []


CONFIG = """
hub: {name: paths}
owners: {ops: {email: ops@x.test}}
systems:
  shop: {connector: webhook}
  crm: {connector: http, base_url: "http://127.0.0.1:PORT/api/v1/tenant-42"}
flows:
  orders:
    trigger: {system: shop, event: order}
    deliver: {system: crm, method: PUT, path: "/orders/{id}/items"}
    on_error: {owner: ops, retry: {attempts: 5, backoff: 10ms}}
"""


@pytest.fixture
async def hub(tmp_path: Path, port: int) -> AsyncIterator[Hub]:
    (tmp_path / "hub.yaml").write_text(CONFIG.replace("PORT", str(port)))
    h = Hub(load_config(tmp_path / "hub.yaml"))
    await h.start()
    yield h
    await h.stop()


async def test_the_hub_parks_it_at_once_with_a_clear_reason(hub: Hub) -> None:
    arrived.clear()
    await hub.ingress.submit("orders", [Incoming({"id": ".."}, event="order"), Incoming({"id": "A1"}, event="order")])
    await hub.worker.drain()
    assert arrived == [("PUT", b"/api/v1/tenant-42/orders/A1/items")]
    [parked] = await hub.backend.exceptions()
    assert parked.message.body == {"id": ".."} and parked.owner == "ops"
    assert "path field 'id' is '..', a dot segment" in parked.reason
    assert "attempts" not in parked.reason, "not retried: it can never succeed"
