"""Real systems for the entity tests (tests/entities): PostgreSQL and MariaDB (skip when absent,
fail under CI=true), an HTTP shop served over loopback, and the hub itself, in this process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from interlace.config.loader import load_config
from interlace.hub import Hub

from support import free_port

PG_DSN = os.environ.get("INTERLACE_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
MYSQL_DSN = os.environ.get("INTERLACE_TEST_MYSQL_DSN", "mysql://root@127.0.0.1:3306/test")


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 60.0, what: str = "condition") -> None:
    """Until `check()` holds; `timeout` bounds a stuck hub, it is no speed target."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what} not met within {timeout}s")


class Shop:
    """A small web shop: customers by email. It answers the hub's writes (PUT, DELETE), lists its
    customers (GET), and, like a real shop, tells the hub by webhook about every change of a
    customer, its own and the hub's alike."""

    def __init__(self) -> None:
        self.port = free_port()
        self.customers: dict[str, dict[str, Any]] = {}
        self.received: list[tuple[str, str, Any]] = []
        self.hook_url: str | None = None
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._hooks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def app(self) -> Starlette:
        async def put(request: Request) -> Response:
            email = request.path_params["email"]
            body = await request.json()
            self.received.append(("PUT", email, body))
            self.customers[email] = {**self.customers.get(email, {}), **body}
            self._emit(email)
            return JSONResponse(self.customers[email])

        async def delete(request: Request) -> Response:
            email = request.path_params["email"]
            self.received.append(("DELETE", email, None))
            self.customers.pop(email, None)
            return Response(status_code=204)

        async def listing(request: Request) -> Response:
            return JSONResponse(list(self.customers.values()))

        return Starlette(
            routes=[
                Route("/customers", listing, methods=["GET"]),
                Route("/customers/{email}", put, methods=["PUT"]),
                Route("/customers/{email}", delete, methods=["DELETE"]),
            ]
        )

    def change(self, email: str, **fields: Any) -> None:
        """A change made in the shop itself (its own screens)."""
        self.customers[email] = {**self.customers.get(email, {"email": email}), **fields}
        self._emit(email)

    def _emit(self, email: str) -> None:
        if self.hook_url is None:
            return
        record = dict(self.customers[email])
        task = asyncio.get_running_loop().create_task(self._post(record))
        self._hooks.add(task)
        task.add_done_callback(self._hooks.discard)

    async def _post(self, record: dict[str, Any]) -> None:
        async with httpx.AsyncClient() as client:
            response = await client.post(self.hook_url or "", json=record)
            response.raise_for_status()

    async def start(self) -> None:
        config = uvicorn.Config(self.app(), host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._hooks:
            await asyncio.wait(self._hooks, timeout=5)
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task


@contextlib.asynccontextmanager
async def running_hub(config: Path, port: int) -> AsyncIterator[Hub]:
    """The hub of `config` (workers, sources, webhooks on `port`) running in this event loop."""
    hub = Hub(load_config(config))
    await hub.start()
    server = uvicorn.Server(
        uvicorn.Config(hub.app(), host="127.0.0.1", port=port, log_level="warning", lifespan="off", access_log=False)
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        yield hub
    finally:
        server.should_exit = True
        await task
        await hub.stop()
