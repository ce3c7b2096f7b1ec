"""What the benchmarks share: ports, process trees' CPU and memory, wrk runs, interleaved rounds
and their median ratios, and writing a section of docs/performance.md."""

from __future__ import annotations

import os
import re
import shutil
import socket
import statistics
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
DOC = HERE.parent / "docs" / "performance.md"
TICK = os.sysconf("SC_CLK_TCK")

ORDERS = """
owners: {{ops: {{email: ops@example.test}}}}
systems:
  shop: {{connector: webhook}}
  erp: {{connector: sqlite, path: {db}, setup: {schema}}}
flows:
  orders:
    trigger: {{system: shop}}
    steps:
      - map: '{{"order_no": id, "email": customer.email, "total": $sum(lines.(qty * price))}}'
    deliver: {{system: erp, table: orders, mode: upsert, key: order_no}}
    on_error: {{owner: ops}}
"""
"""The flow of the webhook and engine benchmarks (after a `hub:` line of each one's own): an
order mapped and upserted into an SQLite table."""
ORDERS_TABLE = "CREATE TABLE IF NOT EXISTS orders (order_no TEXT PRIMARY KEY, email TEXT, total NUMERIC);"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tree(pid: int) -> list[int]:
    """`pid` and all its descendants."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        todo.extend(int(c) for c in children)
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process tree so far."""
    total = 0
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICK


def rss_mb(pid: int) -> float:
    """Resident memory of a process tree, MB."""
    total = 0
    for p in tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


@dataclass
class WrkResult:
    requests: int
    ok: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def ok_per_s(self) -> float:
        return self.ok / self.seconds


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if not m:
        raise ValueError(text)
    return float(m.group(1)) * _UNITS[m.group(2)]


def wrk(port: int, *, connections: int, seconds: float, tag: str, path_script: str = "wrk_orders.lua") -> WrkResult:
    """One wrk run (one thread, keep-alive connections, a unique order per request)."""
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (Debian: apt-get install wrk)")
    out = subprocess.run(
        [
            "wrk", "-t1", f"-c{connections}", f"-d{round(seconds)}s", "--latency", "-s", str(HERE / path_script),
            f"http://127.0.0.1:{port}", "--", tag,
        ],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    requests = int(re.search(r"(\d+) requests in ([\d.]+)(\w+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    failed = (int(bad.group(1)) if bad else 0) + (sum(int(g) for g in errors.groups()) if errors else 0)
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.M))
    return WrkResult(requests, requests - failed, seconds, _ms(lat["50"]), _ms(lat["99"]))


def median_ratio(rounds: Sequence[float]) -> float:
    return statistics.median(rounds)


def machine() -> str:
    cpus = os.cpu_count()
    return f"{cpus} cores, load average {' '.join(Path('/proc/loadavg').read_text().split()[:3])} at the start"


def write_section(name: str, text: str, doc: Path = DOC) -> None:
    """Replace the section `name` of docs/performance.md (between its markers) with `text`;
    append it when the page has no such section yet."""
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\n{text.rstrip()}\n{end}"
    page = doc.read_text() if doc.exists() else "# Performance\n"
    if start in page and end in page:
        before, rest = page.split(start, 1)
        _, after = rest.split(end, 1)
        page = before + block + after
    else:
        page = page.rstrip() + "\n\n" + block + "\n"
    doc.write_text(page)


def wait_http(url: str, proc: subprocess.Popen[bytes] | None = None, timeout: float = 60.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with code {proc.returncode}")
        try:
            httpx.get(url, timeout=0.5)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise TimeoutError(url)
