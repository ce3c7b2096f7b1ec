"""Webhook bodies (issue 13, defects 2, 5, 9, 10): a chunked body is stopped at the limit as it
streams, JSON is finite and at most 64 deep, and only JSON content types are taken. Through the
real hub (over ASGI, and over a real uvicorn server for the streaming limit)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from interlace.config.loader import load_config
from interlace.connectors.webhook.body import BodyRefused, check_content_type, parse_json, read_body
from interlace.hub import Hub

LIMIT = 1_048_576
CONFIG = """
hub: {name: bodies}
systems:
  shop: {connector: webhook}
flows:
  orders: {trigger: {system: shop}}
"""


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[Hub]:
    (tmp_path / "hub.yaml").write_text(CONFIG)
    hub = Hub(load_config(tmp_path / "hub.yaml"))
    await hub.start(workers=False)
    yield hub
    await hub.stop()


@pytest.fixture
async def client(hub: Hub) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=hub.app()), base_url="http://hub") as c:
        yield c


class Counting:
    """Counts the body bytes the application pulls from the server."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.read = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counted() -> Any:
            message = await receive()
            self.read += len(message.get("body", b""))
            return message

        await self.app(scope, counted, send)


async def test_a_chunked_body_is_stopped_at_the_limit_as_it_streams(hub: Hub) -> None:
    app = Counting(hub.app())
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    total, chunk = 300 << 20, b"x" * (64 << 10)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"POST /hooks/shop HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    answer = asyncio.create_task(reader.readline())
    sent = 0
    try:
        while sent < total and not answer.done():
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            try:
                await asyncio.wait_for(writer.drain(), 5)
            except (ConnectionError, TimeoutError):
                break
            sent += len(chunk)
        status_line = await asyncio.wait_for(answer, 30)
    finally:
        writer.close()
        server.should_exit = True
        await serving
    assert status_line.split()[1] == b"413"
    assert app.read <= LIMIT + (64 << 10) + 2 * len(chunk), f"the hub read {app.read} bytes of the body"
    assert sent < total, "the 413 came while the body was still being sent"
    assert await hub.backend.pending() == 0


async def test_deep_json_is_a_4xx_not_a_500(client: httpx.AsyncClient, hub: Hub) -> None:
    deep_array = b"[" * 10_000 + b"]" * 10_000
    r = await client.post("/hooks/shop", content=deep_array, headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and "nested deeper than 64" in r.json()["error"]
    order = b'{"id": "A1", "note": ' + b"[" * 700 + b"]" * 700 + b"}"
    r = await client.post("/hooks/shop", content=order, headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and "nested deeper than 64" in r.json()["error"]
    ok = b'{"id": "A1", "note": ' + b"[" * 63 + b"]" * 63 + b"}"
    assert (
        await client.post("/hooks/shop", content=ok, headers={"Content-Type": "application/json"})
    ).status_code == 202
    assert await hub.backend.pending() == 1


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'{"total": NaN}', 400),
        (b'{"total": Infinity}', 400),
        (b'{"total": -Infinity}', 400),
        (b'{"total": 1e400}', 422),
        (b'{"id": 123456789012345678901234567890}', 422),
        (b"{not json", 400),
        (b'{"a": "\xff"}', 400),
    ],
)
async def test_only_finite_json_numbers_are_taken(
    client: httpx.AsyncClient, hub: Hub, body: bytes, status: int
) -> None:
    r = await client.post("/hooks/shop", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == status, r.text
    assert await hub.backend.pending() == 0


async def test_only_json_content_types_are_taken(client: httpx.AsyncClient, hub: Hub) -> None:
    body = b'{"id": "A1"}'
    for refused in (None, "text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1"):
        headers = {} if refused is None else {"Content-Type": refused}
        r = await client.post("/hooks/shop", content=body, headers=headers)
        assert r.status_code == 415, refused
    for taken in (
        "application/json",
        "Application/JSON; charset=UTF-8",
        'application/vnd.shop.order+json; charset="utf-8"',
    ):
        assert (await client.post("/hooks/shop", content=body, headers={"Content-Type": taken})).status_code == 202
    assert await hub.backend.pending() == 3


def test_parse_json_says_why_with_one_error_type() -> None:
    assert parse_json(b'{"a": [1, 2.5, "x", null, true], "b": 18446744073709551615}') == {
        "a": [1, 2.5, "x", None, True],
        "b": 18446744073709551615,
    }
    assert parse_json(b"[1e19]") == [1e19]
    assert parse_json(b"[[[1]]]", max_depth=3) == [[[1]]]
    with pytest.raises(BodyRefused) as deep:
        parse_json(b"[[[1]]]", max_depth=2)
    assert deep.value.status == 422 and "at byte 2" in deep.value.message
    with pytest.raises(BodyRefused) as nan:
        parse_json(b'{"a": NaN}')
    assert nan.value.status == 400 and "at byte 6" in nan.value.message


def test_check_content_type() -> None:
    check_content_type("application/json")
    check_content_type("application/problem+json;charset=utf-8")
    for bad in (None, "", "application/+json", "text/json", "application/jsonx", "multipart/form-data"):
        with pytest.raises(BodyRefused) as refused:
            check_content_type(bad)
        assert refused.value.status == 415


async def test_read_body_from_a_bare_asgi_receive() -> None:
    chunks = [{"type": "http.request", "body": b"ab", "more_body": True}, {"type": "http.request", "body": b"cd"}]

    def receiver(messages: list[dict[str, Any]]) -> Receive:
        queue = list(messages)

        async def receive() -> Any:
            return queue.pop(0)

        return receive

    assert await read_body(receiver(chunks), 4) == b"abcd"
    with pytest.raises(BodyRefused) as big:
        await read_body(receiver(chunks), 3)
    assert big.value.status == 413
    with pytest.raises(BodyRefused) as gone:
        await read_body(receiver([chunks[0], {"type": "http.disconnect"}]), 10)
    assert gone.value.status == 400
