"""The HTTP protocol the hub's listeners serve: uvicorn's httptools protocol, its response sent in
one write, and a webhook's request handed straight to its endpoint.

uvicorn writes a response's status line and headers, then its body: two `send()` calls on the
socket for every request. On the machines we measured, a system call costs the caller 10-30 us,
about a tenth of what a durable webhook request costs in all (docs/throughput.md). Here the
writes a connection makes in one turn of the event loop go out as one, at the end of that turn;
a response whose body is sent in several turns (a stream) still goes out as it comes.

A listener's protocol may carry a `fast` lookup (`protocol_for`): given a request's scope, the
webhook endpoint that serves it, run then in place of the listener's middleware and router
(uvicorn's proxy headers, the hub's reload dispatch and request log, the router). An endpoint
that is a `DirectEndpoint` is answered with no ASGI at all: the protocol collects the body (413
past its limit, before reading it when Content-Length says so), awaits the endpoint's answer and
writes it as uvicorn would (its default headers, keep-alive or `connection: close`, the next
pipelined request after it). Measured beside a plain httptools protocol, uvicorn's ASGI cycle
cost 0.07 ms of CPU per request to its 0.03. A request with `Expect: 100-continue` goes the ASGI
way, where uvicorn answers the expectation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

import orjson
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol, RequestResponseCycle

Lookup = Callable[[dict[str, Any]], Any]
"""A request's scope -> the ASGI app to run it directly, or None (the listener's app runs it)."""

_JSON = [(b"content-type", b"application/json")]
_TEXT = [(b"content-type", b"text/plain; charset=utf-8")]


Answer = tuple[int, Any, list[tuple[bytes, bytes]]]
"""Status, JSON body, and headers beside content-type and content-length."""


class DirectEndpoint(Protocol):
    """An endpoint the protocol answers for without ASGI: the body is read whole (at most
    `max_body` bytes, else the endpoint's `too_large` answer), then `answer` gives the response."""

    max_body: int

    def too_large(self) -> Answer: ...

    async def answer(self, scope: dict[str, Any], body: bytes) -> Answer: ...


class _CoalescingTransport:
    """A connection's transport whose writes of one loop turn are joined into one write."""

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(bytes(data))

    def write_whole(self, data: bytes) -> None:
        """A whole response: sent at once unless writes of this turn wait (it goes after them)."""
        if self._pending:
            self._pending.append(data)
        else:
            self._transport.write(data)

    def writelines(self, lines: Any) -> None:
        for data in lines:
            self.write(data)

    def _flush(self) -> None:
        pending = self._pending
        if not pending:
            return
        self._pending = []
        if self._transport.is_closing():
            return  # the peer went away: what it would have been sent has nowhere to go
        self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(len(data) for data in self._pending)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending = []
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:  # everything else is the transport's own
        return getattr(self._transport, name)


class CoalescingHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol over a transport that sends a turn's writes as one; a request
    that `fast` finds a direct endpoint for is answered by it (see the module's text)."""

    fast: Lookup | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._out = _CoalescingTransport(transport, self.loop)
        super().connection_made(self._out)  # type: ignore[arg-type]

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        if self.fast is not None and app is self.app:  # not uvicorn's 503 past its concurrency limit
            found = self.fast(cycle.scope)  # type: ignore[arg-type]
            if found is not None:
                if getattr(found, "answer", None) is not None and not cycle.waiting_for_100_continue:
                    self._direct(cycle, found)
                    return
                app = found
        super()._start_asgi_task(cycle, app)

    # -- a direct endpoint's request: its body read whole, then its answer written ------------
    def _direct(self, cycle: RequestResponseCycle, endpoint: DirectEndpoint) -> None:
        cycle.direct = endpoint  # type: ignore[attr-defined]
        length = next((v for k, v in cycle.scope["headers"] if k == b"content-length"), None)
        if length is not None and length.isdigit() and int(length) > endpoint.max_body:
            self._too_large(cycle, endpoint)  # refused before its body is read
        elif not cycle.more_body:  # a pipelined request, started once the one before it was answered
            self._run_direct(cycle, endpoint)

    def on_body(self, body: bytes) -> None:
        cycle = self.cycle
        endpoint: DirectEndpoint | None = getattr(cycle, "direct", None)
        if endpoint is None:
            super().on_body(body)
            return
        if cycle.response_complete:
            return
        cycle.body += body  # no pause past uvicorn's high-water mark: the body is bounded by max_body
        if len(cycle.body) > endpoint.max_body:
            self._too_large(cycle, endpoint)

    def on_message_complete(self) -> None:
        cycle = self.cycle
        endpoint: DirectEndpoint | None = getattr(cycle, "direct", None)
        if endpoint is None:
            super().on_message_complete()
            return
        if cycle.response_complete:
            return
        cycle.more_body = False
        self._run_direct(cycle, endpoint)

    def _too_large(self, cycle: RequestResponseCycle, endpoint: DirectEndpoint) -> None:
        cycle.body = bytearray()
        status, answer, headers = endpoint.too_large()
        self._write(cycle, status, [*_JSON, *headers], orjson.dumps(answer))

    def _run_direct(self, cycle: RequestResponseCycle, endpoint: DirectEndpoint) -> None:
        body, cycle.body = bytes(cycle.body), bytearray()
        task = self.loop.create_task(self._answer(cycle, endpoint, body))
        task.add_done_callback(self.tasks.discard)
        self.tasks.add(task)

    async def _answer(self, cycle: RequestResponseCycle, endpoint: DirectEndpoint, body: bytes) -> None:
        try:
            status, answer, headers = await endpoint.answer(cycle.scope, body)  # type: ignore[arg-type]
            payload = orjson.dumps(answer)
        except BaseException as exc:  # as uvicorn answers an ASGI app that failed
            self.logger.error("Exception in ASGI application\n", exc_info=exc)
            self._write(cycle, 500, _TEXT, b"Internal Server Error", close=True)
            if not isinstance(exc, Exception):
                raise
            return
        self._write(cycle, status, [*_JSON, *headers], payload)

    def _write(
        self, cycle: RequestResponseCycle, status: int, headers: list[tuple[bytes, bytes]], body: bytes,
        *, close: bool = False,
    ) -> None:  # fmt: skip
        """The whole response in one write, then the connection's next request (as uvicorn's
        `send` does for a response with a Content-Length)."""
        if cycle.disconnected or cycle.response_started:
            return
        keep_alive = cycle.keep_alive = cycle.keep_alive and not close
        content = [STATUS_LINE[status]]
        for name, value in (*self.server_state.default_headers, *headers):
            content += (name, b": ", value, b"\r\n")
        content += (b"content-length: ", str(len(body)).encode(), b"\r\n")
        if not keep_alive:
            content.append(b"connection: close\r\n")
        content += (b"\r\n", body)
        cycle.response_started = True
        self._out.write_whole(b"".join(content))
        cycle.response_complete = True
        cycle.message_event.set()
        if not keep_alive:
            self.transport.close()
        cycle.on_response()


def protocol_for(fast: Lookup | None) -> type[CoalescingHttpProtocol]:
    """The protocol class of a listener whose webhooks `fast` finds (None: none are)."""
    if fast is None:
        return CoalescingHttpProtocol
    return type("HubHttpProtocol", (CoalescingHttpProtocol,), {"fast": staticmethod(fast)})
