"""A delivery slower than the lease is not handed to a second worker while it runs: the worker's
heartbeat extends the leases of the items it holds (a real HTTP target that answers slowly)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from interlace.config.loader import load_config
from interlace.connectors.base import Incoming
from interlace.hub import Hub

from support import serving

CONFIG = """
hub: {{name: slow, lease: 600ms, workers: 4}}
owners: {{ops: {{email: ops@x.test}}}}
systems:
  slow: {{connector: http, base_url: "http://127.0.0.1:{port}"}}
flows:
  f:
    trigger: {{schedule: "0 0 1 1 *"}}
    deliver: {{system: slow, path: /in}}
    on_error: {{owner: ops}}
"""


@pytest.fixture
def slow_target() -> Iterator[tuple[int, list[float]]]:
    calls: list[float] = []

    async def receive(request: Request) -> JSONResponse:
        calls.append(time.monotonic())
        await asyncio.sleep(2.0)
        return JSONResponse({}, status_code=201)

    with serving(Starlette(routes=[Route("/in", receive, methods=["POST"])])) as port:
        yield port, calls


async def test_a_slow_delivery_is_made_once(tmp_path: Path, slow_target: tuple[int, list[float]]) -> None:
    port, calls = slow_target
    (tmp_path / "hub.yaml").write_text(CONFIG.format(port=port))
    hub = Hub(load_config(tmp_path / "hub.yaml"))
    await hub.start(sources=False)
    try:
        await hub.ingress.submit("f", [Incoming({"n": 1})])
        await hub.worker.drain(timeout=20)
    finally:
        await hub.stop()
    assert len(calls) == 1, f"the target was called {len(calls)} times for one message"
