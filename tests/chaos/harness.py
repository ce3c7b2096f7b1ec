"""The chaos harness: a hub run as a real process (`interlace run`), a receiving HTTP system run
as a real process (receiver.py), a SQL sink, a known set of orders, and a report.

A scenario sends the orders, injects its faults while they flow, lets the hub finish, and then
counts, per sink, what arrived against what the hub acknowledged (answered 202):
- delivered: distinct orders that reached the sink;
- duplicates (raw): arrivals beyond one per order (rows in a SQL table; requests an HTTP receiver
  accepted, counting a repeated Idempotency-Key as a second arrival);
- duplicates (after key): HTTP only, distinct Idempotency-Keys beyond one per order, i.e. what a
  receiver that honours the key would count twice;
- lost: acknowledged orders neither delivered there nor parked as an exception.

Random choices (where to kill, for how long to fail) come from one seed, printed in the report:
`CHAOS_SEED=N` replays the same choices.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from support import HubProcess, free_port, post_orders

HERE = Path(__file__).resolve().parent

HUB_CONFIG = """
hub: {{name: chaos, port: {port}, lease: 2s, workers: 32, store: "{store}"{bus}}}
owners: {{ops: {{email: ops@example.test}}}}
systems:
  shop: {{connector: webhook}}
  erp: {{connector: sqlite, path: ./erp.db, setup: ./schema.sql}}
  crm: {{connector: http, base_url: "{receiver}", timeout: {http_timeout}}}
flows:
  orders:
    trigger: {{system: shop}}
    steps:
      - map: '{{"order_no": id, "total": qty * price, "poison": poison}}'
    deliver:
{deliveries}
    on_error: {{owner: ops, retry: {{attempts: {attempts}, backoff: "{backoff}"}}}}
"""
SQL_DELIVERY = "      - {system: erp, table: orders, mode: insert}"
HTTP_DELIVERY = "      - {system: crm, method: POST, path: /orders}"
SCHEMA = "CREATE TABLE IF NOT EXISTS orders (order_no TEXT, total NUMERIC CHECK (total >= 0), poison BOOLEAN);"
"""No unique key on purpose: the hub's delivery record is what keeps a redelivery from adding a row."""


def seed(default: int | None = None) -> int:
    """The run's seed: CHAOS_SEED when set (to replay a failure), else `default`, else fresh."""
    value = os.environ.get("CHAOS_SEED")
    if value:
        return int(value)
    return default if default is not None else random.SystemRandom().randrange(1, 1_000_000)


def order_bodies(count: int, start: int = 0) -> dict[str, object]:
    return {f"O{i:06d}": {"id": f"O{i:06d}", "qty": 1 + i % 5, "price": i % 1000} for i in range(start, start + count)}


def wait_until(what: str, predicate: Callable[[], bool], timeout: float, every: float = 0.1) -> None:
    """Wait for `predicate`; the deadline only bounds a hang, it is no measure of speed."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:.0f}s")
        time.sleep(every)


class Receiver:
    """receiver.py as a real process on a port the OS chose."""

    def __init__(self, folder: Path) -> None:
        self.log = folder / "receiver.jsonl"
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "receiver.py"), "--log", str(self.log)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("receiver on "):
            raise RuntimeError(f"receiver did not start: {line}{self.proc.stdout.read()}")
        self.url = line.split()[2].rstrip(",").removesuffix("/orders")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def control(self, mode: str, count: int | None = None, hold: float = 5.0) -> None:
        r = httpx.post(f"{self.url}/_control", json={"mode": mode, "count": count, "hold": hold}, timeout=10)
        r.raise_for_status()

    def stats(self) -> dict[str, Any]:
        return dict(httpx.get(f"{self.url}/_stats", timeout=10).json())

    def arrivals(self) -> list[tuple[str, str]]:
        """(order, Idempotency-Key) of every request it accepted, repeats included."""
        if not self.log.exists():
            return []
        rows = [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]
        return [(str(r["order"]), str(r["key"])) for r in rows]


@dataclass
class SinkCount:
    name: str
    delivered: int
    raw_duplicates: int
    key_duplicates: int | None
    lost: list[str]


@dataclass
class Report:
    scenario: str
    seed: int
    sent: int = 0
    acknowledged: int = 0
    exceptions: dict[str, str] = field(default_factory=dict)
    """Parked orders: order id -> stage and reason."""
    sinks: list[SinkCount] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return len({o for s in self.sinks for o in s.lost})

    def table(self) -> str:
        head = (
            f"chaos {self.scenario}  seed={self.seed} (CHAOS_SEED={self.seed} replays it)  "
            f"faults={len(self.faults)}\n"
            f"sent {self.sent}  acknowledged {self.acknowledged}  exceptions {len(self.exceptions)}  "
            f"lost {self.lost}\n"
        )
        rows = [("sink", "delivered", "duplicates (raw)", "duplicates (after key)", "lost")]
        for s in self.sinks:
            after = "-" if s.key_duplicates is None else str(s.key_duplicates)
            rows.append((s.name, str(s.delivered), str(s.raw_duplicates), after, str(len(s.lost))))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
        tail = [f"  fault: {f}" for f in self.faults[:40]]
        if len(self.faults) > 40:
            tail.append(f"  ... and {len(self.faults) - 40} more")
        for order, why in sorted(self.exceptions.items())[:10]:
            tail.append(f"  parked {order}: {why}")
        return head + "\n".join(lines) + "\n" + "\n".join(tail) + "\n"

    def publish(self, folder: Path) -> None:
        """Print the table (pytest -s shows it) and write it, with the figures as JSON, to `folder`."""
        text = self.table()
        print("\n" + text)
        (folder / f"chaos-{self.scenario}.txt").write_text(text)
        figures = {
            "scenario": self.scenario,
            "seed": self.seed,
            "sent": self.sent,
            "acknowledged": self.acknowledged,
            "exceptions": len(self.exceptions),
            "lost": self.lost,
            "faults": len(self.faults),
            "sinks": [
                {
                    "name": s.name,
                    "delivered": s.delivered,
                    "raw_duplicates": s.raw_duplicates,
                    "key_duplicates": s.key_duplicates,
                    "lost": len(s.lost),
                }
                for s in self.sinks
            ],
        }
        (folder / f"chaos-{self.scenario}.json").write_text(json.dumps(figures, indent=2) + "\n")

    def check(self) -> None:
        """The battery's promises: nothing acknowledged lost (delivered or parked with a reason),
        no duplicate row at the SQL sink, no order twice at the HTTP receiver once its key is
        honoured."""
        where = f"(seed {self.seed}; CHAOS_SEED={self.seed} replays it)\n{self.table()}"
        for s in self.sinks:
            assert not s.lost, f"{len(s.lost)} acknowledged orders lost at {s.name}, e.g. {s.lost[:5]} {where}"
            if s.key_duplicates is None:
                assert s.raw_duplicates == 0, f"{s.raw_duplicates} duplicate rows at {s.name} {where}"
            else:
                assert s.key_duplicates == 0, f"{s.key_duplicates} orders twice under new keys at {s.name} {where}"
        unexplained = {o: why for o, why in self.exceptions.items() if not why.strip()}
        assert not unexplained, f"parked without a reason: {unexplained} {where}"


class Chaos:
    """One scenario's world: a hub config in `folder`, its store (a SQLite file, or `store_url`,
    with `bus` carrying its work items when given), the SQL sink and the receiver."""

    def __init__(
        self,
        folder: Path,
        *,
        store: Path | None = None,
        store_url: str | None = None,
        bus: str | None = None,
        http_timeout: float = 2.0,
        attempts: int = 1000,
        backoff: str = "50ms..1s",
        sql: bool = True,
    ) -> None:
        self.folder = folder
        self.store = store or folder / ".interlace" / "hub.db"
        self.store_url = store_url or f"sqlite:///{self.store}"
        self.sql = sql
        self.receiver = Receiver(folder)
        self.receiver.start()
        port = free_port()
        (folder / "schema.sql").write_text(SCHEMA)
        (folder / "hub.yaml").write_text(
            HUB_CONFIG.format(
                port=port,
                store=self.store_url,
                bus=f', bus: "{bus}"' if bus else "",
                receiver=self.receiver.url,
                http_timeout=http_timeout,
                attempts=attempts,
                backoff=backoff,
                deliveries="\n".join([SQL_DELIVERY, HTTP_DELIVERY] if sql else [HTTP_DELIVERY]),
            )
        )
        self.hub = HubProcess(folder / "hub.yaml", port, log=folder / "hub.log")

    @property
    def hooks(self) -> str:
        return f"{self.hub.url}/hooks/shop"  # the hub may have moved to another port at a start

    def close(self) -> None:
        self.hub.kill()
        self.receiver.stop()

    # -- flowing -------------------------------------------------------------------------
    def send(self, bodies: dict[str, object], answered: dict[str, int], concurrency: int = 50) -> None:
        asyncio.run(post_orders(self.hooks, bodies, concurrency, answered, idempotency=True, timeout=30))

    def send_until_acked(self, bodies: dict[str, object], acked: set[str], timeout: float = 120.0) -> None:
        """Resend (same Idempotency-Key) until every order got a 202: a 429 or a refused write
        is the hub saying 'not now', and a client tries again."""
        deadline = time.monotonic() + timeout
        while True:
            todo = {k: v for k, v in bodies.items() if k not in acked}
            if not todo:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(todo)} orders still not acknowledged after {timeout:.0f}s")
            answered: dict[str, int] = {}
            self.send(todo, answered)
            acked.update(k for k, s in answered.items() if s == 202)
            if len(answered) < len(todo) or any(s != 202 for s in answered.values()):
                time.sleep(0.2)

    def pending(self) -> int:
        return int(httpx.get(f"{self.hub.url}/health", timeout=10).json()["pending"])

    def settle(self, timeout: float) -> None:
        """Wait until the running hub has no unsettled work (everything delivered or parked)."""
        wait_until("the hub settling its work", lambda: self.pending() == 0, timeout, every=0.2)

    # -- counting ------------------------------------------------------------------------
    def sql_rows(self) -> Counter[str]:
        db = self.folder / "erp.db"
        if not db.exists():
            return Counter()
        with sqlite3.connect(db) as conn:
            return Counter(dict(conn.execute("SELECT order_no, count(*) FROM orders GROUP BY order_no").fetchall()))

    def parked(self) -> dict[str, str]:
        """Open exceptions in the store: order id -> stage and reason."""
        from interlace.backends import open_backend

        async def read() -> dict[str, str]:
            backend = open_backend(self.store_url)
            await backend.open()
            try:
                found = await backend.exceptions(status=None)
            finally:
                await backend.close()
            out = {}
            for e in found:
                body = e.message.body if isinstance(e.message.body, dict) else {}
                order = str(body.get("order_no") or body.get("id") or e.message.id)
                out[order] = e.reason if e.reason.startswith(e.stage) else f"{e.stage}: {e.reason}"
            return out

        return asyncio.run(read())

    def report(self, scenario: str, seed: int, sent: Iterable[str], acked: set[str], faults: list[str]) -> Report:
        sent = list(sent)
        parked = self.parked()
        excused = acked - set(parked)
        rows = self.sql_rows()
        arrivals = self.receiver.arrivals()
        raw = Counter(order for order, _ in arrivals)
        keys = Counter(order for order, _ in set(arrivals))
        sql = SinkCount(
            "erp (sql insert)", len(rows), sum(rows.values()) - len(rows), None, sorted(excused - rows.keys())
        )
        sinks = [
            *([sql] if self.sql else []),
            SinkCount(
                "crm (http)",
                len(raw),
                sum(raw.values()) - len(raw),
                sum(keys.values()) - len(keys),
                sorted(excused - raw.keys()),
            ),
        ]
        return Report(scenario, seed, len(sent), len(acked), parked, sinks, faults)


async def send_with_fault(
    chaos: Chaos, batch: dict[str, object], when: str, at: int, fault: Callable[[], None], jitter: float = 0.0
) -> dict[str, int]:
    """Send `batch` and inject `fault` once, at a point in the flow: `when` is "arriving" (after
    the at-th acknowledgement, or when all are answered) or "delivering" (after the receiver
    accepted `at` more orders). Returns the senders' answers: {order id: status}."""
    answered: dict[str, int] = {}
    base = chaos.receiver.stats()["accepted"]
    sending = asyncio.create_task(post_orders(chaos.hooks, batch, 50, answered, idempotency=True, timeout=30))
    deadline = time.monotonic() + 300
    async with httpx.AsyncClient(timeout=10) as client:
        while time.monotonic() < deadline:
            if when == "arriving":
                if sum(1 for s in answered.values() if s == 202) >= at or sending.done():
                    break
            elif (await client.get(f"{chaos.receiver.url}/_stats")).json()["accepted"] - base >= at:
                break
            await asyncio.sleep(0.005)
    await asyncio.sleep(jitter)
    await asyncio.to_thread(fault)
    await sending
    return answered


def kill_cycles(chaos: Chaos, bodies: dict[str, object], cycles: int, rng: random.Random) -> tuple[set[str], list[str]]:
    """Send `bodies` over `cycles` hub lives, each ended by SIGKILL at a random point: while
    orders arrive (after the k-th acknowledgement of that life) or while they are delivered
    (after the receiver accepted d more). Orders not acknowledged before a kill are resent, with
    the same Idempotency-Key, in the next life. Returns the acknowledged ids and the faults."""
    ids = list(bodies)
    chunk = -(-len(ids) // cycles)
    acked: set[str] = set()
    faults: list[str] = []
    for cycle in range(cycles):
        new = ids[cycle * chunk : (cycle + 1) * chunk]
        batch = {k: bodies[k] for k in ids[: cycle * chunk] if k not in acked} | {k: bodies[k] for k in new}
        kind = rng.choice(["arriving", "delivering"]) if len(batch) > 1 else "delivering"
        at = rng.randint(1, max(1, len(batch) - 1)) if kind == "arriving" else rng.randint(1, max(1, len(batch) // 2))
        jitter = rng.uniform(0, 0.02)
        chaos.hub.start(timeout=120)
        answered = asyncio.run(send_with_fault(chaos, batch, kind, at, chaos.hub.kill, jitter))
        acks = {k for k, s in answered.items() if s == 202}
        acked.update(acks)
        faults.append(f"life {cycle + 1}: SIGKILL while {kind} ({len(acks)} of {len(batch)} sent acknowledged)")
    return acked, faults


def finish(chaos: Chaos, bodies: dict[str, object], acked: set[str], timeout: float) -> None:
    """Start the hub once more, resend what was never acknowledged, and let it settle."""
    chaos.hub.start(timeout=120)
    chaos.send_until_acked(bodies, acked, timeout=timeout)
    chaos.settle(timeout)
    chaos.hub.stop()
