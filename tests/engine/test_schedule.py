"""Cron triggers: each tick enqueues one message; two hubs on one store fire a tick once."""

from __future__ import annotations

import asyncio
import math
import time
from pathlib import Path

from interlace.config.loader import load_config
from interlace.hub import Hub

CONFIG = """
hub: {name: cron}
systems:
  db: {connector: sqlite, path: ./out.db}
flows:
  tick:
    trigger: {schedule: "* * * * * *", body: {"job": "nightly-export"}}
    steps:
      - map: '{"job": job, "at": $now()}'
    deliver: {system: db, table: ticks, mode: insert}
"""


async def test_schedule_fires_each_tick_once_across_two_hubs(tmp_path: Path) -> None:
    (tmp_path / "hub.yaml").write_text(CONFIG)
    loaded = load_config(tmp_path / "hub.yaml")
    first, second = Hub(loaded), Hub(loaded)
    began = time.time()
    await first.start(workers=False)
    await second.start(workers=False)
    deadline = time.monotonic() + 60  # a bound for a stuck schedule; a busy machine is only slower
    while await first.backend.pending() < 3 and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    await first.stop()
    await second.stop()
    ticks = math.floor(time.time()) - math.ceil(began) + 1  # whole seconds the two hubs ran over
    check = Hub(loaded)
    await check.start(workers=False, sources=False)
    try:
        pending = await check.backend.pending()
        [counts] = await check.backend.counts()
    finally:
        await check.stop()
    assert 3 <= pending <= ticks, "one message per second, not one per hub"
    assert counts.received == pending
