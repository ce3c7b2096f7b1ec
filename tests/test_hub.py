"""A failing source is restarted with exponential backoff (capped, jittered), and what fails while
the hub stops is logged, not swallowed."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from interlace.config.loader import load_config
from interlace.connectors.base import Ingress, Source
from interlace.hub import SOURCE_RESTART, Hub

CONFIG = """
hub: {name: restarts}
systems:
  db: {connector: sqlite, path: ./out.db}
flows:
  copy:
    trigger: {system: db, table: t, cursor: id}
    deliver: {system: db, table: u, mode: insert}
"""


class FailingSource(Source):
    """Fails `times` times, then ends."""

    def __init__(self, times: int) -> None:
        self.times = times
        self.runs = 0

    async def run(self, ingress: Ingress) -> None:
        self.runs += 1
        if self.runs <= self.times:
            raise ConnectionError(f"down ({self.runs})")


class SlowThenFailingSource(Source):
    """Runs `seconds` of a fake clock each time, then fails."""

    def __init__(self, clock: list[float], seconds: list[float]) -> None:
        self.clock, self.seconds = clock, seconds

    async def run(self, ingress: Ingress) -> None:
        if not self.seconds:
            return
        self.clock[0] += self.seconds.pop(0)
        raise ConnectionError("down")


def _hub(tmp_path: Path) -> Hub:
    (tmp_path / "hub.yaml").write_text(CONFIG)
    return Hub(load_config(tmp_path / "hub.yaml"))


def _record_sleeps(hub: Hub) -> list[float]:
    """The hub's waits, recorded instead of slept."""
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    hub._sleep = sleep
    return waits


async def test_a_failing_source_backs_off_exponentially_up_to_a_cap(tmp_path: Path) -> None:
    hub = _hub(tmp_path)
    await hub.start(workers=False, sources=False)
    waits = _record_sleeps(hub)
    source = FailingSource(times=12)
    await hub._run_source("copy", source)
    assert source.runs == 13
    first, longest = SOURCE_RESTART
    for failure, wait in enumerate(waits):
        base = min(longest, first * 2**failure)
        assert base / 2 <= wait <= base, (failure, wait)
    assert max(waits) <= longest and waits[-1] >= longest / 2
    await hub.stop()


async def test_a_source_that_ran_well_before_failing_starts_again_from_the_first_wait(tmp_path: Path) -> None:
    hub = _hub(tmp_path)
    await hub.start(workers=False, sources=False)
    waits = _record_sleeps(hub)
    now = [0.0]
    hub._clock = lambda: now[0]
    first, longest = SOURCE_RESTART
    await hub._run_source("copy", SlowThenFailingSource(now, [0, 0, 0, 0, longest, 0]))
    assert len(waits) == 6
    assert [first * 2**i / 2 <= w <= first * 2**i for i, w in enumerate(waits[:4])] == [True] * 4
    assert first / 2 <= waits[4] <= first, "after a long healthy run the count starts over"
    assert first <= waits[5] <= 2 * first
    await hub.stop()


async def test_what_fails_while_stopping_is_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    hub = _hub(tmp_path)
    await hub.start(workers=False, sources=False)

    async def broken() -> None:
        raise RuntimeError("task broke")

    hub._tasks.append(asyncio.create_task(broken(), name="broken-task"))
    await asyncio.sleep(0)
    connector = hub.connectors["db"]
    close = connector.close

    async def failing_close() -> None:
        await close()
        raise OSError("cannot close")

    connector.close = failing_close  # type: ignore[method-assign]
    with caplog.at_level(logging.ERROR, logger="interlace.hub"):
        await hub.stop()
    messages = [r.getMessage() for r in caplog.records]
    assert "broken-task failed while the hub stopped" in messages
    assert "closing system db failed" in messages
