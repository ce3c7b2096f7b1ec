"""Fixed-width file throughput and memory: Interlace's streaming codec beside plain Python.

Generates a fixed-width file (100-byte records), then reads it in two child processes, each
measured on its own (wall time, records/s, peak RSS from getrusage):
  - interlace: `FixedWidthCodec.read` (typed fields: int, implied-decimal, text; offsets kept);
  - baseline: a hand-written loop slicing each line and converting the same fields.
The ratio is interlace time / baseline time (1.0 = as fast as the hand-written loop).
With --source it also runs the files connector's source over the file (records become JSON bodies
submitted in batches of 500 with their cursor, to an ingress that only counts them).
With --copybook it also reads an EBCDIC file of the same size laid out by
examples/mainframe/stock.cpy (80-byte records: text, packed, binary, zoned, 88-levels, REDEFINES).

    .venv/bin/python benchmarks/bench_files.py               # 50 MB
    .venv/bin/python benchmarks/bench_files.py --size-mb 1024 --source --copybook
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

FIELDS = [
    {"name": "id", "length": 10, "type": "int"},
    {"name": "name", "length": 30},
    {"name": "city", "length": 20},
    {"name": "amount", "length": 12, "type": "decimal", "decimals": 2},
    {"name": "qty", "length": 6, "type": "int"},
    {"name": "date", "length": 8},
    {"name": "code", "length": 4},
    {"name": "status", "length": 1},
    {"name": "note", "length": 8},
]
RECORD = sum(int(f["length"]) for f in FIELDS)  # type: ignore[call-overload]
STOCK_CPY = Path(__file__).resolve().parent.parent / "examples" / "mainframe" / "stock.cpy"
STOCK_SELECT = {"REC-BODY": {"field": "REC-TYPE", "when": {"S": "REC-BODY", "T": "TRAILER-BODY"}}}
CITIES = [c.ljust(20).encode() for c in ("Zurich", "Oslo", "Lisbon", "Osaka", "Lima", "Perth", "Quebec")]


def generate(path: Path, size_mb: int) -> int:
    """Write records until the file reaches size_mb; returns the record count."""
    target = size_mb * 1024 * 1024
    line = RECORD + 1
    count = target // line
    block: list[bytes] = []
    with path.open("wb", buffering=1 << 20) as out:
        for n in range(1, count + 1):
            block.append(
                b"%010d%-30s%s%012d%06d20261126AB12%c%-8s\n"
                % (n, b"Customer %d" % (n % 9973), CITIES[n % 7], (n * 37) % 10**9, n % 999, b"AOC"[n % 3], b"ok")
            )
            if len(block) >= 10_000:
                out.write(b"".join(block))
                block.clear()
        out.write(b"".join(block))
    return count


def stock_codec() -> Any:
    from interlace.formats.copybook import CopybookCodec, CopybookFormat

    config = {"copybook": STOCK_CPY, "encoding": "cp037", "redefines": STOCK_SELECT}
    return CopybookCodec(CopybookFormat.model_validate(config))


def generate_ebcdic(path: Path, size_mb: int) -> int:
    """80-byte stock records in cp037, written by the codec (a block of distinct records, repeated)."""
    codec = stock_codec()
    block = b"".join(
        codec.encode(
            {
                "REC-TYPE": "S",
                "REC-BODY": {
                    "ITEM-NO": f"IT{n:08d}",
                    "DESCRIPTION": f"PART {n}",
                    "WAREHOUSE": "ZRH",
                    "QTY-ON-HAND": n * 7 - 5000,
                    "UNIT-PRICE": Decimal(n) / 100,
                    "REORDER-LEVEL": n % 500,
                    "LAST-COUNT-DATE": 20261126,
                    "STATUS-CODE": "AD"[n % 2],
                },
            }
        )
        for n in range(1, 1001)
    )
    count = size_mb * 1024 * 1024 // 80 // 1000 * 1000
    with path.open("wb") as out:
        for _ in range(count // 1000):
            out.write(block)
    return count


def run_copybook(path: Path) -> int:
    codec = stock_codec()
    count = 0
    with path.open("rb") as stream:
        for record in codec.read(stream, name=str(path)):
            if record.error is not None:
                raise record.error
            count += 1
    return count


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def run_interlace(path: Path) -> int:
    from interlace.formats.fixedwidth import FixedWidthCodec, FixedWidthFormat

    codec = FixedWidthCodec(FixedWidthFormat.model_validate({"fields": FIELDS, "encoding": "ascii"}))
    count = 0
    with path.open("rb") as stream:
        for record in codec.read(stream, name=str(path)):
            if record.error is not None:
                raise record.error
            count += 1
    return count


class CountingIngress:
    """Takes the source's batches and only counts them: isolates the file side from the store."""

    def __init__(self) -> None:
        self.count = 0

    async def submit(self, flow: str, items: Any, *, cursor: Any = None, validate: bool = False) -> list[str]:
        self.count += len(items)
        return []

    async def load_cursor(self, name: str) -> Any:
        return None

    def flows_for(self, system: str, event: str | None) -> list[str]:
        return []

    async def receive(self, system: str, event: str | None, item: Any) -> dict[str, str]:
        return {}


def run_source(path: Path) -> int:
    """The files connector's source: records -> JSON bodies -> batches of 500 with a cursor."""
    import asyncio

    from interlace.connectors.files import FilesConnector, FilesSettings, FilesSourceOptions
    from interlace.connectors.files.source import FolderSource

    settings = FilesSettings.model_validate({"path": path.parent, "format": {"fields": FIELDS, "encoding": "ascii"}})
    source = FilesConnector("bench", settings).source("load", FilesSourceOptions())
    assert isinstance(source, FolderSource)
    ingress = CountingIngress()

    async def go() -> None:
        await asyncio.to_thread(source._prepare)
        entry = source.folder.stat(path.name)
        assert entry is not None
        await source.process(ingress, entry, 0)

    asyncio.run(go())
    (path.parent / "archive" / path.name).rename(path)  # put it back for the next reader
    return ingress.count


def run_baseline(path: Path) -> int:
    """What one would write by hand: slice, decode, convert; no error positions, no layout."""
    count = 0
    with path.open("rb") as stream:
        for line in stream:
            {
                "id": int(line[0:10]),
                "name": line[10:40].decode("ascii").rstrip(),
                "city": line[40:60].decode("ascii").rstrip(),
                "amount": Decimal(int(line[60:72])).scaleb(-2),
                "qty": int(line[72:78]),
                "date": line[78:86].decode("ascii"),
                "code": line[86:90].decode("ascii"),
                "status": line[90:91].decode("ascii"),
                "note": line[91:99].decode("ascii").rstrip(),
            }
            count += 1
    return count


def child(kind: str, path: Path) -> None:
    start = time.perf_counter()
    runs = {"interlace": run_interlace, "baseline": run_baseline, "copybook": run_copybook, "source": run_source}
    count = runs[kind](path)
    seconds = time.perf_counter() - start
    print(json.dumps({"kind": kind, "records": count, "seconds": seconds, "peak_rss_mb": peak_rss_mb()}))


def measure(kind: str, path: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(path)], check=True, capture_output=True, text=True
    )
    result: dict[str, float] = json.loads(out.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=50)
    parser.add_argument("--dir", type=Path, default=None, help="where to generate the file (default: a temp dir)")
    parser.add_argument("--copybook", action="store_true", help="also read an EBCDIC copybook file of that size")
    parser.add_argument("--source", action="store_true", help="also run the files connector's source on the file")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    folder = Path(tempfile.mkdtemp(prefix="bench-files-", dir=args.dir))
    path = folder / "records.txt"
    try:
        started = time.perf_counter()
        count = generate(path, args.size_mb)
        size = path.stat().st_size
        print(f"generated {count:,} records, {size / 2**20:,.0f} MiB in {time.perf_counter() - started:.1f}s")
        results = [measure("interlace", path), measure("baseline", path)]
        if args.source:
            results.append(measure("source", path))
        for r in results:
            assert r["records"] == count, r
            rate, mib = r["records"] / r["seconds"], size / 2**20 / r["seconds"]
            print(
                f"{r['kind']:<10} {rate:>12,.0f} records/s  {mib:>7.1f} MiB/s"
                f"  {r['seconds']:>8.1f} s  peak RSS {r['peak_rss_mb']:>6.1f} MB"
            )
        ratio = results[0]["seconds"] / results[1]["seconds"]
        print(f"ratio interlace/baseline time: {ratio:.2f}")
        path.unlink()
        for leftover in ("archive", "error"):
            if (folder / leftover).exists():
                os.rmdir(folder / leftover)
        if args.copybook:
            count = generate_ebcdic(path, args.size_mb)
            r = measure("copybook", path)
            assert r["records"] == count, r
            rate, mib = count / r["seconds"], path.stat().st_size / 2**20 / r["seconds"]
            print(
                f"copybook   {rate:>12,.0f} records/s  {mib:>7.1f} MiB/s  {r['seconds']:>8.1f} s"
                f"  peak RSS {r['peak_rss_mb']:>6.1f} MB  (cp037, 80-byte records)"
            )
    finally:
        path.unlink(missing_ok=True)
        os.rmdir(folder)


if __name__ == "__main__":
    main()
