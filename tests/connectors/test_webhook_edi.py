"""A webhook whose bodies are X12 or EDIFACT: each record a message of the flows its event (the
set or message type) picks, a retried body stored once, rejected documents listed in the answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from interlace.config.loader import load_config
from interlace.hub import Hub

SAMPLES = Path(__file__).parents[1] / "formats"
CONFIG = """
hub: {name: edi-hooks}
systems:
  partner:
    connector: webhook
    format: {type: x12, partners: {globex: {id: GLOBEX}}}
  eu-partner:
    connector: webhook
    format: {type: edifact, partners: {globex: {id: "4012345000009"}}}
flows:
  orders: {trigger: {system: partner, event: "850"}}
  acks: {trigger: {system: partner, event: acknowledgement}}
  eu-orders: {trigger: {system: eu-partner, event: ORDERS}}
  eu-contrl: {trigger: {system: eu-partner, event: acknowledgement}}
"""


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Hub]]:
    (tmp_path / "hub.yaml").write_text(CONFIG)
    hub = Hub(load_config(tmp_path / "hub.yaml"))
    await hub.start(workers=False)
    transport = httpx.ASGITransport(app=hub.app())
    async with httpx.AsyncClient(transport=transport, base_url="http://hub") as c:
        yield c, hub
    await hub.stop()


async def test_an_x12_body_becomes_one_message_per_set_and_its_997(client: tuple[httpx.AsyncClient, Hub]) -> None:
    c, _ = client
    body = (SAMPLES / "x12" / "samples" / "850.x12").read_bytes()
    answer = await c.post("/hooks/partner", content=body, headers={"Content-Type": "application/edi-x12"})
    assert answer.status_code == 202, answer.text
    ids = answer.json()["ids"]
    assert sorted(ids) == ["1", "2", "3"] and list(ids["3"]) == ["acks"] and list(ids["1"]) == ["orders"]
    again = await c.post("/hooks/partner", content=body)
    assert again.json()["ids"] == ids  # the same body again is the same messages


async def test_rejected_sets_are_listed_and_garbage_is_400(client: tuple[httpx.AsyncClient, Hub]) -> None:
    c, _ = client
    body = (SAMPLES / "x12" / "samples" / "850.x12").read_text().replace("SE*5*0002~", "SE*6*0002~")
    answer = await c.post("/hooks/partner", content=body.encode())
    assert answer.status_code == 202
    (refused,) = answer.json()["refused"]
    assert refused["record"] == 2 and "SE01 says 6 segments" in refused["error"]
    bad = await c.post("/hooks/partner", content=b"not edi")
    assert bad.status_code == 400 and "expected an ISA segment" in bad.json()["refused"][0]["error"]


async def test_an_edifact_body(client: tuple[httpx.AsyncClient, Hub]) -> None:
    c, _ = client
    body = (SAMPLES / "edifact" / "samples" / "orders.edi").read_bytes()
    answer = await c.post("/hooks/eu-partner", content=body, headers={"Content-Type": "application/edifact"})
    assert answer.status_code == 202, answer.text
    assert {k: list(v) for k, v in answer.json()["ids"].items()} == {"1": ["eu-orders"], "2": ["eu-contrl"]}
