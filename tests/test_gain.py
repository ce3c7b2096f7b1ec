"""Gain, measured: a running hub's real counts per flow and UTC day, times what each flow declares
saved per message, less the messages that ended as exceptions; `interlace gain` prints it."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from interlace.backends.base import DayCounts
from interlace.config.loader import load_config
from interlace.config.models import HubConfig
from interlace.connectors.base import Incoming
from interlace.gain import gain_report, measure, period
from interlace.hub import Hub

from support import interlace

CONFIG = """
hub: {name: gains, lease: 5s}
owners: {ops: {email: ops@x.test}}
systems:
  shop: {connector: webhook}
  db: {connector: sqlite, path: ./out.db, setup: ./schema.sql}
entities:
  order:
    key: id
    schema: {type: object, required: [id], properties: {id: {type: string}}}
flows:
  orders:
    trigger: {system: shop, event: order}
    steps:
      - validate: order
    deliver: {system: db, table: orders, mode: insert}
    on_error: {owner: ops}
    gain: {minutes_saved_per_message: 4, cost_saved_per_message: 1.5, description: "typed into the ERP"}
  notes:
    trigger: {system: shop, event: note}
    deliver: {system: db, table: notes, mode: insert}
"""

SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (id TEXT);
CREATE TABLE IF NOT EXISTS notes (text TEXT);
"""


@pytest.fixture
async def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Hub]:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "hub.yaml").write_text(CONFIG)
    (tmp_path / "schema.sql").write_text(SCHEMA)
    hub = Hub(load_config(tmp_path / "hub.yaml"))
    await hub.start(sources=False)
    yield hub
    await hub.stop()


async def _run(hub: Hub, good: int, bad: int, notes: int = 0) -> None:
    orders = [Incoming({"id": f"A{i}"}, event="order") for i in range(good)]
    orders += [Incoming({"no_id": i}, event="order") for i in range(bad)]  # fail validation: parked
    await hub.ingress.submit("orders", orders)
    if notes:
        await hub.ingress.submit("notes", [Incoming({"text": "n"}, event="note") for _ in range(notes)])
    await hub.worker.drain()


async def test_gain_from_real_counts_less_exceptions(hub: Hub) -> None:
    await _run(hub, good=10, bad=3, notes=2)
    assert len(await hub.backend.exceptions()) == 3
    report = await gain_report(hub.backend, hub.loaded.config, days=1)
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert (report["since"], report["until"]) == (today, today)
    flows = {f["flow"]: f for f in report["flows"]}
    orders = flows["orders"]
    assert (orders["received"], orders["delivered"], orders["exceptions"], orders["handled"]) == (13, 10, 3, 10)
    assert (orders["minutes_saved"], orders["hours_saved"], orders["cost_saved"]) == (40, 0.67, 15)
    assert orders["declared"] and orders["minutes_saved_per_message"] == 4
    notes = flows["notes"]
    assert (notes["received"], notes["handled"], notes["minutes_saved"], notes["declared"]) == (2, 2, 0, False)
    assert report["days"] == [
        {"day": today, "flow": "notes", "received": 2, "delivered": 2, "exceptions": 0, "handled": 2,
         "minutes_saved": 0, "hours_saved": 0, "cost_saved": 0},
        {"day": today, "flow": "orders", "received": 13, "delivered": 10, "exceptions": 3, "handled": 10,
         "minutes_saved": 40, "hours_saved": 0.67, "cost_saved": 15},
    ]  # fmt: skip
    assert report["by_day"] == [{"day": today, "received": 15, "delivered": 12, "exceptions": 3, "handled": 12,
                                 "minutes_saved": 40, "hours_saved": 0.67, "cost_saved": 15}]  # fmt: skip
    assert report["total"] == {k: v for k, v in report["by_day"][0].items() if k != "day"}
    json.dumps(report)  # plain data


async def test_counts_are_kept_per_day(hub: Hub, tmp_path: Path) -> None:
    await _run(hub, good=2, bad=1)
    # the counts of an earlier day, as the store's triggers would have written them then
    with sqlite3.connect(tmp_path / ".interlace" / "hub.db") as conn:
        conn.execute("UPDATE flow_days SET day = '2026-01-05'")
    await _run(hub, good=5, bad=0)
    counts = await hub.backend.daily_counts()
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert [(c.day, c.flow, c.received, c.delivered, c.exceptions) for c in counts] == [
        ("2026-01-05", "orders", 3, 2, 1),
        (today, "orders", 5, 5, 0),
    ]
    assert [c.day for c in await hub.backend.daily_counts("2026-01-06")] == [today]
    assert [c.day for c in await hub.backend.daily_counts(None, "2026-01-05")] == ["2026-01-05"]
    report = await gain_report(hub.backend, hub.loaded.config)
    assert [(d["day"], d["minutes_saved"]) for d in report["by_day"]] == [
        ("2026-01-05", 8),
        (today, 20),
    ]
    assert report["total"]["minutes_saved"] == 28


def test_an_exception_parked_on_a_later_day_is_taken_off_that_day() -> None:
    config = HubConfig.model_validate(
        {"flows": {"f": {"trigger": {"system": "s"}, "gain": {"minutes_saved_per_message": 2}}}}
    )
    counts = [DayCounts("f", "2026-03-01", 3, 3, 0), DayCounts("f", "2026-03-02", 0, 0, 1),
              DayCounts("gone", "2026-03-02", 7, 7, 0)]  # fmt: skip
    report = measure(config, counts)
    f = report.flows["f"]
    days = [(d, t.handled, t.minutes_saved) for d, t in f.days.items()]
    assert days == [("2026-03-01", 3, 6), ("2026-03-02", -1, -2)]
    assert (f.total.handled, f.total.minutes_saved) == (2, 4)
    gone = report.flows["gone"]
    assert not gone.declared and gone.total.received == 7 and gone.total.minutes_saved == 0
    assert report.total.received == 10


def test_period() -> None:
    assert period(None) == (None, None)
    assert period(1, today=dt.date(2026, 3, 1)) == ("2026-03-01", "2026-03-01")
    assert period(30, today=dt.date(2026, 3, 1)) == ("2026-01-31", "2026-03-01")
    with pytest.raises(ValueError):
        period(0)


async def test_a_bad_day_is_refused(hub: Hub) -> None:
    with pytest.raises(ValueError):
        await gain_report(hub.backend, hub.loaded.config, since="2026-13-01")


async def test_interlace_gain_prints_the_table_and_json(hub: Hub, tmp_path: Path) -> None:
    await _run(hub, good=10, bad=3)
    await hub.stop()
    config = str(tmp_path / "hub.yaml")
    table = interlace("gain", config, check=True).stdout
    assert "gain of hub gains" in table
    [orders] = [line for line in table.splitlines() if "orders" in line]
    cells = [c.strip() for c in orders.strip("│┃| ").split("│")]
    assert cells == ["orders", "4.00", "1.50", "13", "3", "10", "0.67", "15.00"], cells
    by_day = interlace("gain", config, "--by-day", "--all", check=True).stdout
    assert dt.datetime.now(dt.UTC).date().isoformat() in by_day
    data = json.loads(interlace("gain", config, "--json", "--all", check=True).stdout)
    assert data["total"]["handled"] == 10 and data["since"] is None
    refused = interlace("gain", config, "--since", "yesterday")
    assert refused.returncode == 2 and "YYYY-MM-DD" in refused.stderr
    assert interlace("gain", config, "--days", "3", "--all").returncode == 2
    await hub.start(sources=False)  # the fixture stops it again
