"""Benchmark 1: webhook -> map -> SQLite upsert, durable, beside Node-RED 4 and a non-durable floor.

Contenders, each a server process loaded in turn by the same wrk (one thread, keep-alive, a unique
order per request), in interleaved rounds (A, B, C, A, B, C, ...):
- Interlace, `interlace run` (one process) and `--processes 2` (`--processes 1 2 3` adds 3): answers 202 only once
  the order is committed (fsync) in its SQLite queue, then maps it and upserts it into an SQLite
  table, effectively once;
- Node-RED 4 (the peer): http in -> function (the same mapping in JavaScript) -> http response;
  it persists nothing;
- the floor: Starlette + uvicorn + uvloop + httptools with the same JSONata mapping, persisting
  nothing.
Per contender and concurrency: 2xx requests/s, p50, p99, CPU per request (user + system of the
server's process tree over the run), RSS. Ratios are per round, the median of the rounds reported.
Then a sustained run (Interlace, c=50, 30 s): acknowledged/s against delivered/s (rows in the sink).

    .venv/bin/python benchmarks/bench_webhook.py [--rounds 3] [--seconds 8] [--sustain 30]
"""

from __future__ import annotations

import argparse
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from common import HERE, ORDERS, ORDERS_TABLE, cpu_seconds, free_port, machine, rss_mb, wait_http, write_section, wrk
from nodered import NodeRed

BIN = Path(sys.executable).parent
CONFIG = "hub: {{name: bench, port: {port}, trace: false}}" + ORDERS


@dataclass
class Contender:
    name: str
    kind: str
    start: Callable[[], tuple[int, int]]  # -> (pid, port)
    stop: Callable[[], None]
    pid: int = 0
    port: int = 0
    runs: dict[int, list[tuple[float, float, float, float, float]]] = field(default_factory=dict)


def interlace(work: Path, processes: int) -> Contender:
    state: dict[str, subprocess.Popen[bytes]] = {}
    folder = work / f"interlace-{processes}"
    folder.mkdir()
    schema = folder / "schema.sql"
    schema.write_text(ORDERS_TABLE)

    def start() -> tuple[int, int]:
        port = free_port()
        (folder / "hub.yaml").write_text(CONFIG.format(port=port, db=folder / "erp.db", schema=schema))
        cmd = [str(BIN / "interlace"), "run", str(folder / "hub.yaml"), "--log-level", "warning"]
        proc = subprocess.Popen([*cmd, "--processes", str(processes)], cwd=folder, stdout=subprocess.DEVNULL)
        state["proc"] = proc
        wait_http(f"http://127.0.0.1:{port}/health", proc)
        return proc.pid, port

    def stop() -> None:
        proc = state.pop("proc")
        proc.terminate()
        proc.wait(timeout=60)

    label = "Interlace" if processes == 1 else f"Interlace --processes {processes}"
    return Contender(label, "durable hub", start, stop)


def nodered() -> Contender:
    red = NodeRed("webhook-flows.json")

    def start() -> tuple[int, int]:
        red.port = free_port()
        red.start()
        return red.pid, red.port

    return Contender("Node-RED 4", "peer", start, red.stop)


def floor() -> Contender:
    state: dict[str, subprocess.Popen[bytes]] = {}

    def start() -> tuple[int, int]:
        port = free_port()
        proc = subprocess.Popen([sys.executable, str(HERE / "floor_webhook_app.py"), str(port)])
        state["proc"] = proc
        wait_http(f"http://127.0.0.1:{port}/", proc)
        return proc.pid, port

    def stop() -> None:
        proc = state.pop("proc")
        proc.terminate()
        proc.wait(timeout=30)

    return Contender("floor (Starlette+uvloop, no persistence)", "floor", start, stop)


def measure(c: Contender, connections: int, seconds: float, tag: str) -> tuple[float, float, float, float, float]:
    wrk(c.port, connections=connections, seconds=1, tag=tag + "w")  # warm up
    cpu0 = cpu_seconds(c.pid)
    r = wrk(c.port, connections=connections, seconds=seconds, tag=tag)
    cpu = cpu_seconds(c.pid) - cpu0
    return r.ok_per_s, r.p50_ms, r.p99_ms, cpu / max(r.ok, 1) * 1000, rss_mb(c.pid)


def sustained(work: Path, seconds: int) -> tuple[list[str], dict[str, float]]:
    """Interlace (--processes 2) at c=50 for `seconds`: acked vs delivered, backlog each second."""
    (work / "sustain").mkdir()
    c = interlace(work / "sustain", 2)
    c.pid, c.port = c.start()
    db = work / "sustain" / "interlace-2" / "erp.db"
    try:
        wrk(c.port, connections=50, seconds=2, tag="sw")
        time.sleep(2)
        rows0 = _rows(db)
        proc = subprocess.Popen(
            ["wrk", "-t1", "-c50", f"-d{seconds}s", "-s", str(HERE / "wrk_orders.lua"), f"http://127.0.0.1:{c.port}",
             "--", "sustain"],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        samples = []
        started = time.monotonic()
        while proc.poll() is None:
            time.sleep(1)
            pending = httpx.get(f"http://127.0.0.1:{c.port}/health", timeout=10).json()["pending"]
            samples.append((time.monotonic() - started, _rows(db) - rows0, pending))
        out = proc.stdout.read() if proc.stdout else ""
        elapsed = time.monotonic() - started
        delivered = _rows(db) - rows0
        total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
        bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        acked = total - (int(bad.group(1)) if bad else 0)
    finally:
        c.stop()
    lines = [f"| {t:.0f} s | {d:,} | {p:,} |" for t, d, p in samples]
    backlog = [p for _, _, p in samples]
    third = max(1, len(backlog) // 3)
    return lines, {
        "acked_per_s": acked / seconds,
        "delivered_per_s": delivered / elapsed,
        "backlog_max": max(backlog),
        "backlog_first_third": statistics.mean(backlog[:third]),
        "backlog_last_third": statistics.mean(backlog[-third:]),
        "refused": total - acked,
    }


def _rows(db: Path) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db, timeout=30) as conn:
        try:
            return int(conn.execute("SELECT count(*) FROM orders").fetchone()[0])
        except sqlite3.OperationalError:
            return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2], help="Interlace process counts")
    parser.add_argument("--sustain", type=int, default=30, help="seconds of the sustained run (0: skip)")
    parser.add_argument("--no-nodered", action="store_true", help="leave Node-RED out (no npm here)")
    parser.add_argument("--write", action="store_true", help="write the tables into docs/performance.md")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="interlace-bench-webhook-"))
    hubs = [interlace(work, n) for n in args.processes]
    contenders = list(hubs)
    if not args.no_nodered:
        contenders.append(nodered())
    contenders.append(floor())
    where = machine()
    print(f"{where}; {args.rounds} rounds of {args.seconds:.0f} s per contender and concurrency\n", flush=True)
    try:
        for c in contenders:
            c.pid, c.port = c.start()
        for r in range(args.rounds):
            for conns in args.concurrency:
                order = contenders[r % len(contenders) :] + contenders[: r % len(contenders)]
                for c in order:
                    got = measure(c, conns, args.seconds, f"r{r}c{conns}")
                    c.runs.setdefault(conns, []).append(got)
                    print(f"round {r + 1} c={conns:<3} {c.name:<42} {got[0]:>8,.0f} req/s  p50 {got[1]:6.1f} ms"
                          f"  p99 {got[2]:6.1f} ms  {got[3]:.3f} ms CPU/req  {got[4]:.0f} MB", flush=True)  # fmt: skip
    finally:
        for c in contenders:
            try:
                c.stop()
            except Exception as exc:  # a contender that died is reported by its numbers
                print(f"stopping {c.name}: {exc}")
    text = [
        "## Webhook -> map -> SQLite upsert, beside Node-RED 4",
        "`.venv/bin/python benchmarks/bench_webhook.py --write` (wrk, one thread, keep-alive, a unique order per"
        f" request; {args.rounds} interleaved rounds of {args.seconds:.0f} s; {where}).",
        "",
        "Interlace answers 202 only after the order is committed (fsync) in its queue, then maps and"
        " upserts it into an SQLite table. Node-RED 4 (the peer) runs the same mapping in a function"
        " node and persists nothing; the floor (Starlette + uvicorn + uvloop + httptools, the same"
        " JSONata mapping) persists nothing either. CPU per request counts the server's whole process"
        " tree (every process with `--processes N`).",
        "",
        "| clients | contender | 2xx req/s | p50 | p99 | CPU per request | RSS |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for conns in args.concurrency:
        for c in contenders:
            runs = c.runs.get(conns, [])
            if not runs:
                continue
            med = [statistics.median(x[i] for x in runs) for i in range(5)]
            text.append(f"| {conns} | {c.name} | {med[0]:,.0f} | {med[1]:.1f} ms | {med[2]:.1f} ms | {med[3]:.3f} ms"
                        f" | {med[4]:.0f} MB |")  # fmt: skip
    text += ["", "Ratios, per round (median in bold):", "", "| clients | ratio | rounds | median |"]
    text.append("|---:|---|---|---:|")
    base = {c.name: c for c in contenders}
    for conns in args.concurrency:
        for hub in hubs:
            for other in contenders[len(hubs) :]:
                for label, i in (("req/s", 0), ("p99", 2), ("CPU per request", 3)):
                    pairs = zip(hub.runs[conns], base[other.name].runs[conns], strict=True)
                    rounds = [h[i] / o[i] for h, o in pairs]
                    each = ", ".join(f"{x:.2f}" for x in rounds)
                    text.append(f"| {conns} | {hub.name} / {other.name}: {label} | {each} |"
                                f" **{statistics.median(rounds):.2f}x** |")  # fmt: skip
    for line in text:
        print(line)
    if args.sustain:
        samples, s = sustained(work, args.sustain)
        sus = [
            "",
            f"Sustained: Interlace `--processes 2`, 50 clients for {args.sustain} s: **{s['acked_per_s']:,.0f}"
            f" acknowledged/s, {s['delivered_per_s']:,.0f} delivered/s"
            f" ({s['delivered_per_s'] / s['acked_per_s']:.2f}x)**; backlog (undelivered work items) at most"
            f" {s['backlog_max']:,}, {s['backlog_first_third']:,.0f} on average in the first third of the run and"
            f" {s['backlog_last_third']:,.0f} in the last; {s['refused']:,} requests refused with 429.",
            "",
            "| time | delivered | backlog |",
            "|---:|---:|---:|",
            *samples,
        ]
        for line in sus:
            print(line)
        text += sus
    if args.write:
        write_section("webhook", "\n".join(text))


if __name__ == "__main__":
    main()
