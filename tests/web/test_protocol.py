"""The hub's HTTP protocol (web/protocol.py): a webhook request is answered by its endpoint
directly, with no ASGI, middleware or router in between, as it would be through the whole app. A
real `interlace run` (and a uvicorn server with a test endpoint) spoken to over a raw socket, so
that what the server writes is what the test reads."""

from __future__ import annotations

import asyncio
import logging
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from interlace.config.loader import load_config
from interlace.hub import Hub, _Dispatch
from interlace.observability.logging import requests
from interlace.web.protocol import protocol_for

from support import BIN, free_port, wait_http

CONFIG = """
hub: {name: protocol}
owners: {ops: {email: ops@x.test}}
systems:
  shop: {connector: webhook, max_body: 2000}
  db: {connector: sqlite, path: ./out.db}
flows:
  orders:
    trigger: {system: shop}
    deliver: {system: db, table: orders, mode: insert}
    on_error: {owner: ops}
"""

BODY = b'{"id": 1}'


def post(path: str = "/hooks/shop", body: bytes = BODY, extra: bytes = b"") -> bytes:
    return (
        b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + extra + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )  # fmt: skip


def exchange(port: int, data: bytes, answers: int, *, wait_continue: bool = False) -> list[bytes]:
    """Send `data` on one connection and read `answers` whole responses (each with Content-Length)."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        if wait_continue:  # headers first, the body once the server asks for it
            head, body = data.split(b"\r\n\r\n", 1)
            sock.sendall(head + b"\r\n\r\n")
            assert sock.recv(100).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
            sock.sendall(body)
        else:
            sock.sendall(data)
        got, out = b"", []
        while len(out) < answers:
            while b"\r\n\r\n" not in got:
                chunk = sock.recv(65536)
                assert chunk, f"connection closed after {out} {got!r}"
                got += chunk
            head, rest = got.split(b"\r\n\r\n", 1)
            lines = head.lower().split(b"\r\n")
            length = int(next(line.split(b":")[1] for line in lines if line.startswith(b"content-length")))
            while len(rest) < length:
                rest += sock.recv(65536)
            out.append(head + b"\r\n\r\n" + rest[:length])
            got = rest[length:]
        return out


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    folder = tmp_path_factory.mktemp("protocol")
    (folder / "hub.yaml").write_text(CONFIG)
    port = free_port()
    proc = subprocess.Popen(
        [str(BIN / "interlace"), "run", str(folder / "hub.yaml"), "--port", str(port), "--force"],
        cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_http(f"http://127.0.0.1:{port}/health", proc=proc)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_webhook_is_answered_202_in_one_response(port: int) -> None:
    [answer] = exchange(port, post(), 1)
    assert answer.startswith(b"HTTP/1.1 202 Accepted\r\n")
    assert b'"ids":{"orders":' in answer


def test_pipelined_requests_are_answered_in_order(port: int) -> None:
    bodies = [b'{"id": %d}' % i for i in range(5)]
    answers = exchange(port, b"".join(post(body=b) for b in bodies) + post("/nowhere"), 6)
    assert [a.split(b"\r\n", 1)[0] for a in answers] == [b"HTTP/1.1 202 Accepted"] * 5 + [b"HTTP/1.1 404 Not Found"]


def test_other_methods_and_paths_go_through_the_router(port: int) -> None:
    get = b"GET /hooks/shop HTTP/1.1\r\nHost: x\r\n\r\n"
    [answer] = exchange(port, get, 1)
    assert answer.startswith(b"HTTP/1.1 405 ")
    [answer] = exchange(port, b"GET /api/flows HTTP/1.1\r\nHost: x\r\n\r\n", 1)
    assert answer.startswith(b"HTTP/1.1 401 ")  # the API's token check still runs


def test_expect_continue_and_the_body_limit_hold_on_the_direct_path(port: int) -> None:
    [answer] = exchange(port, post(extra=b"Expect: 100-continue\r\n"), 1, wait_continue=True)
    assert answer.startswith(b"HTTP/1.1 202 ")
    big = b'{"pad": "' + b"x" * 3000 + b'"}'
    [answer] = exchange(port, post(body=big), 1)
    assert answer.startswith(b"HTTP/1.1 413 ")
    [answer] = exchange(port, post(body=b"{not json"), 1)
    assert answer.startswith(b"HTTP/1.1 400 ")


def test_a_chunked_body_past_the_limit_is_refused_and_the_connection_goes_on(port: int) -> None:
    big = b"x" * 3000
    chunked = (
        b"POST /hooks/shop HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n" + b"%x\r\n" % len(big) + big + b"\r\n0\r\n\r\n"
    )
    too_long = post(body=b'{"pad": "' + big + b'"}')  # refused on its Content-Length, its body skipped
    answers = exchange(port, chunked + too_long + post(), 3)
    assert [a.split(b"\r\n", 1)[0] for a in answers] == [b"HTTP/1.1 413 Request Entity Too Large"] * 2 + [
        b"HTTP/1.1 202 Accepted"
    ]


def test_connection_close_and_http_1_0_are_answered_then_closed(port: int) -> None:
    for request in (post(extra=b"Connection: close\r\n"), post().replace(b"HTTP/1.1", b"HTTP/1.0", 1)):
        with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
            sock.sendall(request)
            got = b""
            while chunk := sock.recv(65536):  # the server closes the connection after its answer
                got += chunk
        assert got.startswith(b"HTTP/1.1 202 Accepted\r\n") and b"connection: close\r\n" in got.lower()


class Slow:
    """A direct endpoint whose answers come in the order of a gate, or fail."""

    max_body = 100

    def __init__(self) -> None:
        self.calls: list[bytes] = []

    def too_large(self) -> tuple[int, Any, list[tuple[bytes, bytes]]]:
        return 413, {"error": "too large"}, []

    async def answer(self, scope: dict[str, Any], body: bytes) -> tuple[int, Any, list[tuple[bytes, bytes]]]:
        self.calls.append(body)
        if body == b"fail":
            raise RuntimeError("the endpoint failed")
        await asyncio.sleep(0.2 if body == b"slow" else 0)
        return 202, {"got": body.decode()}, [(b"x-seen", b"1")]


@pytest.fixture
def direct() -> Iterator[tuple[int, Slow]]:
    endpoint = Slow()

    async def app(scope: Any, receive: Any, send: Any) -> None:  # what the lookup does not take
        await send({"type": "http.response.start", "status": 404, "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})

    def lookup(scope: dict[str, Any]) -> Any:
        return endpoint if scope["path"] == "/direct" else None

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="critical", lifespan="off", http=protocol_for(lookup))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield sock.getsockname()[1], endpoint
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def test_a_direct_endpoint_answers_in_order_and_a_failure_is_a_500(direct: tuple[int, Slow]) -> None:
    port, endpoint = direct
    requests_ = [post("/direct", body=b) for b in (b"slow", b"fast")] + [post("/other")]
    answers = exchange(port, b"".join(requests_), 3)
    assert [a.split(b"\r\n", 1)[0] for a in answers] == [b"HTTP/1.1 202 Accepted"] * 2 + [b"HTTP/1.1 404 Not Found"]
    assert answers[0].endswith(b'{"got":"slow"}') and answers[1].endswith(b'{"got":"fast"}')
    assert b"x-seen: 1\r\n" in answers[0] and b"content-type: application/json\r\n" in answers[0]
    assert endpoint.calls == [b"slow", b"fast"]
    [failed] = exchange(port, post("/direct", body=b"fail"), 1)
    assert failed.startswith(b"HTTP/1.1 500 ") and b"connection: close" in failed


def test_the_lookup_takes_webhook_posts_only_and_steps_aside_while_requests_are_logged(tmp_path: Path) -> None:
    (tmp_path / "hub.yaml").write_text(CONFIG)
    hub = Hub(load_config(tmp_path / "hub.yaml"))
    dispatch = _Dispatch(hub.app())

    def scope(method: str, path: str) -> dict[str, object]:
        return {"type": "http", "method": method, "path": path}

    assert dispatch.endpoint(scope("POST", "/hooks/shop")) is not None
    assert dispatch.endpoint(scope("GET", "/hooks/shop")) is None
    assert dispatch.endpoint(scope("POST", "/hooks/shop/order")) is None  # a path parameter: the router's
    assert dispatch.endpoint(scope("POST", "/api/flows")) is None
    level = requests.level
    requests.setLevel(logging.DEBUG)
    try:
        assert dispatch.endpoint(scope("POST", "/hooks/shop")) is None
    finally:
        requests.setLevel(level)
