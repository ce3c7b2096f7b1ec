"""The leader lease: of the processes sharing a store, one runs the schedules and pollers; a
leader that dies is replaced once its lease ran out, one that stops is replaced at once (on every
store, with an injected clock), and two hubs on one PostgreSQL store fire a schedule from one."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from backends.stores import BACKENDS, store
from interlace.backends.base import Backend
from interlace.config.loader import load_config
from interlace.engine.leader import Leadership
from interlace.hub import Hub


class Clock:
    def __init__(self) -> None:
        self.t = 1_000_000.0

    def time(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += seconds
        await asyncio.sleep(0)


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    async with store(request.param, tmp_path) as spec:
        b = spec.open()
        await b.open()
        yield b
        await b.close()


def candidate(backend: Backend, holder: str, clock: Clock, log: list[str]) -> Leadership:
    async def gained() -> None:
        log.append(f"{holder} leads")

    async def lost() -> None:
        log.append(f"{holder} stops")

    return Leadership(backend, holder, 10.0, gained=gained, lost=lost, clock=clock)


async def test_one_leader_a_dead_one_is_replaced_after_its_lease_a_stopped_one_at_once(backend: Backend) -> None:
    clock, log = Clock(), []
    a, b = candidate(backend, "a", clock, log), candidate(backend, "b", clock, log)
    assert await a.step() and not await b.step()
    clock.t += 5
    assert await a.step() and not await b.step(), "a renewed"
    # a dies: it renews no more; b takes over only once a's lease ran out
    clock.t += 9
    assert not await b.step()
    clock.t += 1.5
    assert await b.step() and b.leading
    assert not await a.step(), "a, back from a pause, finds it lost the lease and stops its sources"
    assert log == ["a leads", "b leads", "a stops"]
    await b.resign()
    assert await a.step(), "a lease given up is free at once"
    assert log[-1] == "a leads"


async def test_a_leader_that_cannot_reach_the_store_stops_before_its_lease_could_run_out(backend: Backend) -> None:
    clock, log = Clock(), []
    a = candidate(backend, "a", clock, log)
    assert await a.step()

    async def unreachable(*args: object, **kwargs: object) -> bool:
        raise ConnectionError("store down")

    a.backend.lead = unreachable  # type: ignore[method-assign]
    clock.t += 3
    assert await a.step(), "a third of the lease after renewing: still safe to lead"
    clock.t += 4
    assert not await a.step(), "two thirds: step down, another may take over soon"
    assert log == ["a leads", "a stops"]


SCHEDULED = """
hub: {{name: cluster, store: "{store}", leader_lease: 1s, poll: 50ms}}
owners: {{ops: {{email: ops@example.test}}}}
systems:
  erp: {{connector: sqlite, path: ./erp.db, setup: ./schema.sql}}
flows:
  tick:
    trigger: {{schedule: "* * * * * *"}}
    steps:
      - map: '{{"tick": tick}}'
    deliver: {{system: erp, table: ticks, mode: upsert, key: tick}}
    on_error: {{owner: ops}}
"""


async def test_two_serve_hubs_on_one_postgresql_store_run_the_schedule_in_one(tmp_path: Path) -> None:
    async with store("postgresql", tmp_path) as spec:
        (tmp_path / "hub.yaml").write_text(SCHEDULED.format(store=spec.url))
        (tmp_path / "schema.sql").write_text("CREATE TABLE IF NOT EXISTS ticks (tick TEXT PRIMARY KEY);")
        hubs = [Hub(load_config(tmp_path / "hub.yaml")) for _ in range(2)]
        for hub in hubs:
            await hub.start(workers=False, lead=True)
        try:
            deadline = time.monotonic() + 30
            while sum(h.leadership is not None and h.leadership.leading for h in hubs) != 1:
                assert time.monotonic() < deadline, "no leader within 30 s"
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.0)  # a few renewals: still one
            leaders = [h for h in hubs if h.leadership is not None and h.leadership.leading]
            assert len(leaders) == 1
            [leader] = leaders
            [other] = [h for h in hubs if h is not leader]
            assert [t.get_name() for t in leader._sources] == ["schedule:tick"] and other._sources == []
            await leader.stop()  # gives the lease up: the other takes over within a renewal
            hubs.remove(leader)
            while not (other.leadership is not None and other.leadership.leading):
                assert time.monotonic() < deadline, "the other hub did not take over"
                await asyncio.sleep(0.05)
            assert [t.get_name() for t in other._sources] == ["schedule:tick"]
            while await other.backend.pending() == 0:  # its schedule fires
                assert time.monotonic() < deadline, "no tick from the new leader"
                await asyncio.sleep(0.05)
        finally:
            for hub in hubs:
                await hub.stop()
