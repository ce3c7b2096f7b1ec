"""The receiving HTTP system fails for a while in the middle of the flow: it answers 500, or 429
with Retry-After, or keeps each order but answers only after the hub gave up waiting (a timeout).
The hub retries; every acknowledged order arrives, under one Idempotency-Key (a timeout makes the
hub send again what the receiver already kept: the raw repeats in the report)."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from chaos.harness import Chaos, order_bodies, seed, send_with_fault


# the default suite rides out a 500 outage; 429 and timeouts (each 30 s) run with -m long
@pytest.mark.parametrize(
    "mode", ["500", pytest.param("429", marks=pytest.mark.long), pytest.param("timeout", marks=pytest.mark.long)]
)
def test_receiver_outage_delays_but_loses_nothing(tmp_path: Path, mode: str) -> None:
    run_seed = seed()
    rng = random.Random(run_seed)
    chaos = Chaos(tmp_path, http_timeout=1.0)
    try:
        chaos.hub.start()
        bodies = order_bodies(1000)
        at = rng.randint(1, 500)
        count = rng.randint(50, 300) if mode != "timeout" else rng.randint(8, 24)

        def outage() -> None:
            chaos.receiver.control(mode, count=count, hold=3.0)

        answered = asyncio.run(send_with_fault(chaos, bodies, "delivering", at, outage))
        acked = {k for k, s in answered.items() if s == 202}
        chaos.send_until_acked(bodies, acked)
        chaos.settle(timeout=300)
        faults = chaos.receiver.stats()["faults"]
        chaos.hub.stop()
    finally:
        chaos.close()
    report = chaos.report(f"outage-{mode}", run_seed, bodies, acked, [f"{count} requests answered {mode}"])
    report.publish(tmp_path)
    report.check()
    assert faults == count, "the outage happened, for as many requests as chosen"
    assert not report.exceptions, "retries outlast the outage: nothing needs an owner"
    if mode == "timeout":
        assert report.sinks[1].raw_duplicates > 0, "a late answer makes the hub send again what was kept"
