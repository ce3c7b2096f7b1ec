"""The HTTP sink against a real HTTP server on loopback: auth, headers, the path template,
and how each answer maps to delivered / retry (with Retry-After) / park."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from interlace.connectors.http import HttpConnector
from interlace.connectors.http.settings import HttpDelivery, HttpSettings
from interlace.connectors.http.sink import render_path
from interlace.errors import DeliveryError
from interlace.message import Message

from support import closed_port, serving


class Target:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answers: list[tuple[int, dict[str, str]]] = []

    def app(self) -> Starlette:
        async def anything(request: Request) -> JSONResponse:
            self.requests.append(
                {
                    "method": request.method,
                    "raw_path": request.scope["raw_path"],
                    "headers": dict(request.headers),
                    "body": await request.body(),
                }
            )
            status, headers = self.answers.pop(0) if self.answers else (201, {})
            return JSONResponse({"ok": status < 300}, status_code=status, headers=headers)

        return Starlette(routes=[Route("/{path:path}", anything, methods=["POST", "PUT", "DELETE", "HEAD"])])


@pytest.fixture(scope="module")
def target() -> Iterator[tuple[Target, int]]:
    t = Target()
    with serving(t.app()) as port:
        yield t, port


def sink(port: int, settings: dict[str, Any], options: dict[str, Any]) -> Any:
    connector = HttpConnector(
        "crm", HttpSettings.model_validate({"base_url": f"http://127.0.0.1:{port}/api", **settings})
    )
    return connector, connector.sink(HttpDelivery.model_validate(options))


async def test_bearer_headers_idempotency_key_and_path(target: tuple[Target, int]) -> None:
    t, port = target
    t.requests.clear()
    connector, s = sink(
        port,
        {"auth": {"bearer": "tok"}, "headers": {"X-Tenant": "acme"}},
        {"method": "PUT", "path": "/customers/{customer.id}", "headers": {"X-Flow": "f"}},
    )
    msg = Message(flow="f", body={"customer": {"id": "a/b c"}})
    assert await s.deliver(msg, "d-1") == {"status": 201}
    [req] = t.requests
    assert req["method"] == "PUT"
    assert req["raw_path"] == b"/api/customers/a%2Fb%20c"
    assert req["headers"]["authorization"] == "Bearer tok"
    assert req["headers"]["idempotency-key"] == "d-1"
    assert req["headers"]["x-tenant"] == "acme" and req["headers"]["x-flow"] == "f"
    await connector.close()


def test_path_values_are_escaped_so_they_cannot_change_the_path() -> None:
    assert render_path("/c/{id}", {"id": "a/b/admin?x=1#f"}) == "/c/a%2Fb%2Fadmin%3Fx%3D1%23f"
    with pytest.raises(DeliveryError) as info:
        render_path("/c/{missing}", {})
    assert not info.value.retryable


async def test_basic_auth(target: tuple[Target, int]) -> None:
    t, port = target
    t.requests.clear()
    connector, s = sink(port, {"auth": {"basic": {"username": "u", "password": "p"}}}, {"path": "/x"})
    await s.deliver(Message(flow="f", body={}), "d-2")
    assert t.requests[0]["headers"]["authorization"] == "Basic dTpw"
    await connector.close()


@pytest.mark.parametrize(
    ("status", "headers", "retryable", "retry_after"),
    [
        (500, {}, True, None),
        (503, {"Retry-After": "7"}, True, 7.0),
        (429, {"Retry-After": "2"}, True, 2.0),
        (408, {}, True, None),
        (400, {}, False, None),
        (404, {"Retry-After": "5"}, False, None),
    ],
)
async def test_failures_say_whether_to_retry(
    target: tuple[Target, int], status: int, headers: dict[str, str], retryable: bool, retry_after: float | None
) -> None:
    t, port = target
    t.answers.append((status, headers))
    connector, s = sink(port, {}, {"path": "/x"})
    with pytest.raises(DeliveryError) as info:
        await s.deliver(Message(flow="f", body={}), "d-3")
    assert info.value.retryable is retryable
    assert info.value.retry_after == retry_after
    assert f"answered {status}" in str(info.value)
    await connector.close()


async def test_unreachable_is_retryable() -> None:
    with closed_port() as port:
        connector, s = sink(port, {"timeout": 0.5}, {"path": "/x"})
        with pytest.raises(DeliveryError) as info:
            await s.deliver(Message(flow="f", body={}), "d-4")
    assert info.value.retryable
    await connector.close()
