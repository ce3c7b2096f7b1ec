"""An interchange is matched to its trading partner; one from an unknown sender reaches its flow
marked, and `require_partner` parks it for the flow's owner instead of letting it through."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest

from interlace.config.loader import load_config
from interlace.errors import StepError
from interlace.formats.edi.steps import require_partner
from interlace.hub import Hub

SAMPLES = Path(__file__).parents[1]
CONFIG = """
owners: {b2b-desk: {email: edi@acme.test}}
systems:
  partner:
    connector: webhook
    format: {type: x12, partners: {globex: {id: GLOBEX}}}
  erp: {connector: sqlite, path: ./erp.db}
flows:
  orders:
    trigger: {system: partner, event: "850"}
    steps:
      - python: interlace.formats.edi.steps:require_partner
      - map: '{"po": document.BEG.BEG03, "partner": partner}'
    deliver: {system: erp, table: orders}
    on_error: {owner: b2b-desk}
"""


def test_require_partner_passes_known_and_refuses_unknown() -> None:
    known = {"standard": "x12", "partner": "globex", "problems": []}
    assert require_partner(known) is known
    assert require_partner({"not": "edi"}) == {"not": "edi"}
    with pytest.raises(StepError, match="unknown sender: interchange 9: sender ZZ:X matches no trading partner"):
        require_partner(
            {
                "standard": "edifact",
                "partner": None,
                "problems": ["interchange 9: sender ZZ:X matches no trading partner"],
            }
        )


async def test_an_unknown_senders_orders_are_parked_for_the_owner(tmp_path: Path) -> None:
    (tmp_path / "hub.yaml").write_text(CONFIG)
    with sqlite3.connect(tmp_path / "erp.db") as db:
        db.execute("CREATE TABLE orders (po TEXT, partner TEXT)")
    good = (SAMPLES / "x12" / "samples" / "850.x12").read_text()
    stranger = good.replace("ZZ*GLOBEX         ", "ZZ*STRANGER       ").replace("*000000101*", "*000000102*")
    stranger = stranger.replace("IEA*1*000000101", "IEA*1*000000102")
    hub = Hub(load_config(tmp_path / "hub.yaml"))
    await hub.start(sources=False)
    try:
        transport = httpx.ASGITransport(app=hub.app())
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            assert (await client.post("/hooks/partner", content=good.encode())).status_code == 202
            answer = await client.post("/hooks/partner", content=stranger.encode())
            assert answer.status_code == 202  # taken in: not a crash, not refused at the door
        await hub.worker.drain()
        parked = await hub.backend.exceptions()
    finally:
        await hub.stop()
    with sqlite3.connect(tmp_path / "erp.db") as db:
        assert sorted(db.execute("SELECT po, partner FROM orders")) == [("PO-1001", "globex"), ("PO-1002", "globex")]
    assert len(parked) == 2 and {p.owner for p in parked} == {"b2b-desk"}
    assert "sender ZZ:STRANGER matches no trading partner" in parked[0].reason
    assert parked[0].stage == "python:interlace.formats.edi.steps:require_partner"
