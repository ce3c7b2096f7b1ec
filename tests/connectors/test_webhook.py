"""The webhook source in a running hub (in-process, real HTTP over ASGI): signatures with
timestamp tolerance, body size limit, events from the path or a header."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from interlace.config.loader import load_config
from interlace.hub import Hub

CONFIG = """
hub: {name: hooks}
systems:
  signed:
    connector: webhook
    max_body: 200
    signature: {secret: "${env:HOOK_SECRET}", header: X-Signature, timestamp_header: X-Timestamp, tolerance: 60}
  plain: {connector: webhook, path: /in/plain}
flows:
  signed-flow: {trigger: {system: signed}}
  created: {trigger: {system: plain, event: created}}
  any-plain: {trigger: {system: plain}}
"""


@pytest.fixture
async def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[httpx.AsyncClient, Hub]]:
    monkeypatch.setenv("HOOK_SECRET", "shh")
    (tmp_path / "hub.yaml").write_text(CONFIG)
    hub = Hub(load_config(tmp_path / "hub.yaml"))
    await hub.start(workers=False)
    transport = httpx.ASGITransport(app=hub.app())
    async with httpx.AsyncClient(transport=transport, base_url="http://hub") as c:
        yield c, hub
    await hub.stop()


def signed(body: bytes, stamp: float, secret: str = "shh") -> dict[str, str]:
    text = f"{stamp:.0f}".encode() + b"." + body
    return {
        "X-Timestamp": f"{stamp:.0f}",
        "X-Signature": "sha256=" + hmac.new(secret.encode(), text, hashlib.sha256).hexdigest(),
        "Content-Type": "application/json",
    }


async def test_signature_is_checked(client: tuple[httpx.AsyncClient, Hub]) -> None:
    c, hub = client
    body = json.dumps({"a": 1}).encode()
    ok = await c.post("/hooks/signed", content=body, headers=signed(body, time.time()))
    assert ok.status_code == 202
    wrong = await c.post("/hooks/signed", content=body, headers=signed(body, time.time(), secret="other"))
    assert (wrong.status_code, wrong.json()["error"]) == (401, "signature does not match")
    old = await c.post("/hooks/signed", content=body, headers=signed(body, time.time() - 3600))
    assert (old.status_code, old.json()["error"]) == (401, "signature timestamp is outside the tolerance")
    missing = await c.post("/hooks/signed", content=body)
    assert missing.status_code == 401 and "X-Signature" in missing.json()["error"]
    assert await hub.backend.pending() == 1, "only the correctly signed event was stored"


async def test_body_limit(client: tuple[httpx.AsyncClient, Hub]) -> None:
    c, _ = client
    body = json.dumps({"a": "x" * 500}).encode()
    r = await c.post("/hooks/signed", content=body, headers=signed(body, time.time()))
    assert r.status_code == 413


async def test_events_pick_flows(client: tuple[httpx.AsyncClient, Hub]) -> None:
    c, hub = client
    both = await c.post("/in/plain/created", json={"n": 1})
    assert both.status_code == 202 and set(both.json()["ids"]) == {"created", "any-plain"}
    by_header = await c.post("/in/plain", json={"n": 2}, headers={"X-Event": "created"})
    assert set(by_header.json()["ids"]) == {"created", "any-plain"}
    other = await c.post("/in/plain/updated", json={"n": 3})
    assert set(other.json()["ids"]) == {"any-plain"}
    assert await hub.backend.pending() == 5
