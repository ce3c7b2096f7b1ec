"""SIGKILL of the hub, again and again, at random points while orders arrive and while they are
delivered to a SQL table and to an HTTP receiver. After the last restart: every acknowledged order
is in the table exactly once and reached the receiver under one Idempotency-Key (raw repeats of
that key are counted and shown: they are what at-least-once means to a receiver that ignores it).

Replay a run's kill points with CHAOS_SEED=N (the report prints N)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaos.harness import Chaos, finish, kill_cycles, order_bodies, seed

BACKENDS = ["sqlite"]
"""Every store backend on main; the long run repeats the battery on each."""


@pytest.fixture
def chaos(tmp_path: Path) -> Iterator[Chaos]:
    world = Chaos(tmp_path)
    try:
        yield world
    finally:
        world.close()


def run(chaos: Chaos, folder: Path, scenario: str, orders: int, kills: int) -> None:
    run_seed = seed()
    bodies = order_bodies(orders)
    acked, faults = kill_cycles(chaos, bodies, kills, random.Random(run_seed))
    finish(chaos, bodies, acked, timeout=max(300.0, orders / 50))
    report = chaos.report(scenario, run_seed, bodies, acked, faults)
    report.publish(folder)
    report.check()
    assert len(faults) == kills
    assert report.acknowledged == orders


def test_repeated_sigkill_loses_nothing_and_duplicates_no_row(chaos: Chaos, tmp_path: Path) -> None:
    run(chaos, tmp_path, "sigkill", orders=1500, kills=3)  # 100,000 and 20 kills: -m long


@pytest.mark.long
@pytest.mark.parametrize("backend", BACKENDS)
def test_twenty_sigkills_over_100k_orders(chaos: Chaos, tmp_path: Path, backend: str) -> None:
    run(chaos, tmp_path, f"sigkill-long-{backend}", orders=100_000, kills=20)
