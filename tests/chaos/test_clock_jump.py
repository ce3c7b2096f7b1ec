"""The wall clock jumps under a running schedule (NTP, a resumed laptop, an operator), through the
clock the schedule takes. Forward an hour: the missed ticks fire once, as the latest of them, not
as a storm of 3,600. Back a little: the schedule follows the clock at once (no waiting out the
gap) and a tick fired before the jump is not delivered again. Each tick reaches the sink once."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from interlace.config.loader import load_config
from interlace.engine.schedule import run_schedule
from interlace.hub import Hub

CONFIG = """
hub: {name: clock-jump}
systems:
  db: {connector: sqlite, path: ./ticks.db, setup: ./schema.sql}
flows:
  tick:
    trigger: {schedule: "* * * * * *"}
    steps:
      - map: '{"tick": tick}'
    deliver: {system: db, table: ticks, mode: insert}
"""


class JumpingClock:
    """A wall clock the test moves: `elapse` lets time pass (sleeps end), `jump` only resets the
    wall clock, as a clock step does. `move` returns once the schedule sleeps again, i.e. has done
    what that moment asked of it."""

    def __init__(self, wall: float) -> None:
        self.wall = wall
        self.elapsed = 0.0
        self._changed = asyncio.Condition()
        self.idle = asyncio.Event()

    def time(self) -> float:
        return self.wall

    async def sleep(self, seconds: float) -> None:
        until = self.elapsed + seconds
        async with self._changed:
            while self.elapsed < until:
                self.idle.set()
                await self._changed.wait()

    async def move(self, *, elapse: float = 0.0, jump: float = 0.0) -> None:
        self.idle.clear()
        self.elapsed += elapse
        self.wall += elapse + jump
        async with self._changed:
            self._changed.notify_all()
        await asyncio.wait_for(self.idle.wait(), 60)


def at(hms: str) -> str:
    return f"2026-12-01T{hms}+00:00"


async def test_clock_jumps_neither_storm_nor_stall_nor_repeat(tmp_path: Path) -> None:
    (tmp_path / "hub.yaml").write_text(CONFIG)
    (tmp_path / "schema.sql").write_text("CREATE TABLE IF NOT EXISTS ticks (tick TEXT);")
    hub = Hub(load_config(tmp_path / "hub.yaml"))
    await hub.start(sources=False)
    clock = JumpingClock(datetime(2026, 12, 1, 10, 0, 0, 500_000, tzinfo=UTC).timestamp())
    schedule = asyncio.create_task(run_schedule(hub.ingress, "tick", "* * * * * *", None, clock=clock))
    try:
        await asyncio.wait_for(clock.idle.wait(), 60)
        for _ in range(5):  # 10:00:01 .. 10:00:05
            await clock.move(elapse=1)
        await clock.move(jump=3600)  # 11:00:05.5, noticed at the next wake
        for _ in range(3):  # 11:00:06 (for all the hour's missed ticks), 11:00:07, 11:00:08
            await clock.move(elapse=1)
        await clock.move(jump=-3600 - 5)  # back to 10:00:03.5: 10:00:04 and 10:00:05 come round again
        for _ in range(5):  # 10:00:04, 10:00:05 (both fired before), 10:00:06 .. 10:00:08
            await clock.move(elapse=1)
        await hub.worker.drain(timeout=60)
    finally:
        schedule.cancel()
        await hub.stop()
    with sqlite3.connect(tmp_path / "ticks.db") as conn:
        ticks = [row[0] for row in conn.execute("SELECT tick FROM ticks ORDER BY rowid")]
    expected = [at(f"10:00:0{s}") for s in range(1, 6)] + [at(f"11:00:0{s}") for s in (6, 7, 8)]
    expected += [at(f"10:00:0{s}") for s in (6, 7, 8)]
    assert sorted(ticks) == sorted(expected), ticks
