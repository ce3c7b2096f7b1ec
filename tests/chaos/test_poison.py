"""Poison among good orders: one the map step cannot compute, one the HTTP receiver refuses (422),
one the SQL table refuses (a CHECK constraint). Each is parked with its stage and reason for its
owner; every good order flows past them, to both sinks."""

from __future__ import annotations

import random
from pathlib import Path

from chaos.harness import Chaos, order_bodies, seed

POISON: dict[str, dict[str, object]] = {
    "P-MAP": {"id": "P-MAP", "qty": "lots", "price": 3},
    "P-HTTP": {"id": "P-HTTP", "qty": 1, "price": 2, "poison": True},
    "P-SQL": {"id": "P-SQL", "qty": 1, "price": -5},
}


def test_poison_parks_and_the_rest_flow(tmp_path: Path) -> None:
    run_seed = seed()
    rng = random.Random(run_seed)
    good = list(order_bodies(1000).items())
    for name, body in POISON.items():
        good.insert(rng.randrange(len(good) + 1), (name, body))
    bodies = dict(good)
    chaos = Chaos(tmp_path, attempts=3, backoff="10ms..50ms")
    try:
        chaos.hub.start()
        acked: set[str] = set()
        chaos.send_until_acked(bodies, acked)
        chaos.settle(timeout=300)
        chaos.hub.stop()
    finally:
        chaos.close()
    report = chaos.report("poison", run_seed, bodies, acked, [f"poison {k}" for k in POISON])
    report.publish(tmp_path)
    report.check()
    assert set(report.exceptions) == set(POISON), "exactly the poison is parked, no good order with it"
    assert report.exceptions["P-MAP"].startswith("map"), report.exceptions["P-MAP"]
    assert "422" in report.exceptions["P-HTTP"], report.exceptions["P-HTTP"]
    assert "CHECK" in report.exceptions["P-SQL"].upper(), report.exceptions["P-SQL"]
    rows, arrived = chaos.sql_rows(), {order for order, _ in chaos.receiver.arrivals()}
    assert "P-HTTP" in rows and "P-SQL" in arrived, "a sink that takes the order still gets it"
    assert "P-SQL" not in rows and "P-HTTP" not in arrived and "P-MAP" not in set(rows) | arrived
    assert all(s.delivered == len(bodies) - 2 for s in report.sinks)
