"""A 5 s outage (503) of the receiving HTTP system while 6,000 orders arrive from 50 clients:
Interlace beside Node-RED 4, one after the other in one run, with the same orders, the same
receiver program (tests/chaos/receiver.py) and the same outage, started once the receiver has
accepted 500 orders.

Interlace: webhook -> map -> HTTP delivery, the quickstart's retry policy (8 attempts, 1s..1m).
Node-RED: http in -> function (map) -> http response 202 + http request (benchmarks/nodered/
outage.json), what a user builds; Node-RED has no retry of its own.

Counted at the receiver, per acknowledged order: delivered (at least once), lost (never), and
duplicates raw and after the Idempotency-Key. A correctness comparison, not a timing.

Run: .venv/bin/python benchmarks/chaos_outage.py [--orders 6000] [--clients 50] [--outage 5]
(installs Node-RED into benchmarks/.node-red with npm on first use; needs Node.js 20+)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "benchmarks")]

from chaos.harness import Chaos, Receiver, order_bodies, wait_until  # noqa: E402
from nodered import SCRATCH, NodeRed  # noqa: E402

from support import post_orders  # noqa: E402


async def send_through_outage(
    receiver: Receiver, url: str, bodies: dict[str, object], clients: int, after: int, seconds: float
) -> dict[str, int]:
    """Send every order; once the receiver accepted `after` of them, it answers 503 for `seconds`."""
    answered: dict[str, int] = {}
    sending = asyncio.create_task(post_orders(url, bodies, clients, answered, idempotency=True, timeout=30))
    async with httpx.AsyncClient(timeout=10) as client:
        while (await client.get(f"{receiver.url}/_stats")).json()["accepted"] < after and not sending.done():
            await asyncio.sleep(0.01)
        await client.post(f"{receiver.url}/_control", json={"mode": "503", "count": None})
        await asyncio.sleep(seconds)
        await client.post(f"{receiver.url}/_control", json={"mode": "ok", "count": None})
    await sending
    return answered


def version() -> str:
    package = SCRATCH / "node_modules" / "node-red" / "package.json"
    return str(json.loads(package.read_text())["version"]) if package.exists() else "4"


def quiet(receiver: Receiver, seconds: float = 5.0, timeout: float = 300.0) -> None:
    """Wait until the receiver has accepted nothing new for `seconds` (Node-RED has no backlog to ask)."""
    last: list[Any] = [None, time.monotonic()]

    def still() -> bool:
        accepted = receiver.stats()["accepted"]
        if accepted != last[0]:
            last[:] = [accepted, time.monotonic()]
        return time.monotonic() - last[1] >= seconds

    wait_until("the receiver going quiet", still, timeout, every=0.5)


def tally(name: str, bodies: dict[str, object], answered: dict[str, int], receiver: Receiver) -> dict[str, Any]:
    acked = {k for k, s in answered.items() if 200 <= s < 300}
    arrivals = receiver.arrivals()
    raw = Counter(order for order, _ in arrivals)
    keys = Counter(order for order, _ in set(arrivals))
    return {
        "system": name,
        "sent": len(bodies),
        "acknowledged": len(acked),
        "delivered": len(acked & raw.keys()),
        "lost": len(acked - raw.keys()),
        "duplicates_raw": sum(raw.values()) - len(raw),
        "duplicates_after_key": sum(keys.values()) - len(keys),
        "answered_503": receiver.stats()["faults"],
    }


def run_interlace(folder: Path, bodies: dict[str, object], args: argparse.Namespace) -> dict[str, Any]:
    chaos = Chaos(folder, sql=False, attempts=8, backoff="1s..1m")
    try:
        chaos.hub.start()
        answered = asyncio.run(
            send_through_outage(chaos.receiver, chaos.hooks, bodies, args.clients, args.after, args.outage)
        )
        chaos.settle(timeout=600)
        parked = chaos.parked()
        chaos.hub.stop()
        row = tally("Interlace", bodies, answered, chaos.receiver)
        row["parked"] = len(parked)
        return row
    finally:
        chaos.close()


def run_nodered(folder: Path, bodies: dict[str, object], args: argparse.Namespace) -> dict[str, Any]:
    receiver = Receiver(folder)
    receiver.start()
    try:
        os.environ["RECEIVER_URL"] = f"{receiver.url}/orders"  # outage.json's http request reads it
        with NodeRed("outage.json") as red:
            url = f"http://127.0.0.1:{red.port}"
            wait_until("node-red's flows", lambda: httpx.get(f"{url}/health", timeout=2).status_code == 200, 90)
            answered = asyncio.run(
                send_through_outage(receiver, f"{url}/orders", bodies, args.clients, args.after, args.outage)
            )
            quiet(receiver)
        row = tally(f"Node-RED {version()}", bodies, answered, receiver)
        row["parked"] = 0
        return row
    finally:
        receiver.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=6000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--outage", type=float, default=5.0, help="seconds the receiver answers 503")
    parser.add_argument("--after", type=int, default=500, help="orders accepted before the outage starts")
    args = parser.parse_args()
    bodies = order_bodies(args.orders)
    rows = []
    with tempfile.TemporaryDirectory(prefix="chaos-outage-") as tmp:
        for name, run in (("interlace", run_interlace), ("nodered", run_nodered)):
            folder = Path(tmp) / name
            folder.mkdir()
            rows.append(run(folder, bodies, args))
    columns = [
        "system",
        "sent",
        "acknowledged",
        "delivered",
        "lost",
        "parked",
        "duplicates_raw",
        "duplicates_after_key",
        "answered_503",
    ]
    widths = [max(len(c), *(len(str(r[c])) for r in rows)) for c in columns]
    print(f"\n{args.outage:g} s of 503 from the receiver while {args.orders} orders arrive from {args.clients} clients")
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    for r in rows:
        print("  ".join(str(r[c]).ljust(w) for c, w in zip(columns, widths, strict=True)))
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "chaos_outage.json").write_text(json.dumps({"args": vars(args), "rows": rows}, indent=2) + "\n")
    interlace = rows[0]
    if interlace["lost"] or interlace["duplicates_after_key"] or interlace["acknowledged"] != interlace["delivered"]:
        sys.exit("Interlace lost or duplicated acknowledged orders: see the table")


if __name__ == "__main__":
    main()
