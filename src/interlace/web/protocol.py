"""The HTTP protocol the hub's listeners serve: uvicorn's httptools protocol, its response sent in
one write, and a webhook's request handed straight to its endpoint.

uvicorn writes a response's status line and headers, then its body: two `send()` calls on the
socket for every request. On the machines we measured, a system call costs the caller 10-30 us,
about a tenth of what a durable webhook request costs in all (docs/throughput.md). Here the
writes a connection makes in one turn of the event loop go out as one, at the end of that turn;
a response whose body is sent in several turns (a stream) still goes out as it comes.

A listener's protocol may carry a `fast` lookup (`protocol_for`): given a request's scope, the
ASGI app that serves it when that is a webhook's endpoint, run then in place of the listener's
middleware and router (uvicorn's proxy headers, the hub's reload dispatch and request log, the
router: about a tenth of the CPU a webhook request costs). uvicorn still reads the body, answers
`Expect: 100-continue`, keeps requests of a connection in order and writes the response.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

Lookup = Callable[[dict[str, Any]], Any]
"""A request's scope -> the ASGI app to run it directly, or None (the listener's app runs it)."""


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
    """uvicorn's httptools protocol over a transport that sends a turn's writes as one."""

    fast: Lookup | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        if self.fast is not None and app is self.app:  # not uvicorn's 503 past its concurrency limit
            direct = self.fast(cycle.scope)  # type: ignore[arg-type]
            if direct is not None:
                app = direct
        super()._start_asgi_task(cycle, app)


def protocol_for(fast: Lookup | None) -> type[CoalescingHttpProtocol]:
    """The protocol class of a listener whose webhooks `fast` finds (None: none are)."""
    if fast is None:
        return CoalescingHttpProtocol
    return type("HubHttpProtocol", (CoalescingHttpProtocol,), {"fast": staticmethod(fast)})
