"""A variable-length (RDW) copybook file is read record by record: memory stays flat whatever its
size. The long test reads 1 GB under 150 MB peak RSS; the default suite reads a smaller file and
bounds how much the reader's RSS grows while it reads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

TXN = """
       01  TXN-REC.
           05  TXN-ID      PIC 9(10).
           05  ACCT        PIC X(12).
           05  AMOUNT      PIC S9(9)V99 COMP-3.
           05  TXN-DATE    PIC 9(8).
           05  CURRENCY    PIC X(3).
           05  N-TAGS      PIC 9(4) COMP.
           05  TAGS        OCCURS 0 TO 20 TIMES DEPENDING ON N-TAGS.
               10  TAG-CODE  PIC X(4).
               10  TAG-VAL   PIC S9(5) COMP-3.
"""
"""Records of 43 to 183 bytes, as many tags as N-TAGS says."""

READER = """
import json, resource, sys
from pathlib import Path
from interlace.formats.copybook import CopybookCodec, CopybookFormat

def status(key):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1]) / 1024

codec = CopybookCodec(CopybookFormat(copybook_text=sys.argv[2], record_format="rdw"))
count, baseline = 0, None
with open(sys.argv[1], "rb") as stream:
    for record in codec.read(stream, name=sys.argv[1]):
        if record.error is not None:
            raise record.error
        count += 1
        if count == 1000:
            baseline = status("VmRSS:")
print(json.dumps({"records": count, "baseline_mb": baseline, "peak_mb": status("VmHWM:")}))
"""


def write_rdw_file(path: Path, size: int) -> int:
    """Distinct records (written by the codec) repeated in blocks until the file has `size` bytes."""
    import io

    from interlace.formats.copybook import CopybookCodec, CopybookFormat

    codec = CopybookCodec(CopybookFormat(copybook_text=TXN, record_format="rdw"))
    out = io.BytesIO()
    writer = codec.writer(out)
    for n in range(1, 1001):
        tags = [{"TAG-CODE": f"T{t:03d}", "TAG-VAL": (n * t) % 99999 - 5000} for t in range(n % 21)]
        writer.write(
            {
                "TXN-ID": n,
                "ACCT": f"AC{n:010d}",
                "AMOUNT": f"{n * 37 % 10**9}.{n % 100:02d}",
                "TXN-DATE": 20261201,
                "CURRENCY": "EUR",
                "N-TAGS": len(tags),
                "TAGS": tags,
            }
        )
    block = out.getvalue()
    blocks = max(1, size // len(block))
    with path.open("wb") as stream:
        for _ in range(blocks):
            stream.write(block)
    return blocks * 1000


def read_in_child(path: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", READER, str(path), TXN], check=True, capture_output=True, text=True)
    result: dict[str, float] = json.loads(out.stdout)
    return result


def test_reading_a_variable_length_file_does_not_grow_memory(tmp_path: Path) -> None:
    path = tmp_path / "txn.dat"
    count = write_rdw_file(path, 8 << 20)
    result = read_in_child(path)
    assert result["records"] == count
    assert result["peak_mb"] - result["baseline_mb"] < 16, result  # 8 MB, 70,000 records read; none kept


@pytest.mark.long
def test_a_1_gb_variable_length_file_streams_under_150_mb(tmp_path: Path) -> None:
    path = tmp_path / "txn-1g.dat"
    count = write_rdw_file(path, 1 << 30)
    assert path.stat().st_size > 1_000_000_000
    result = read_in_child(path)
    assert result["records"] == count
    assert result["peak_mb"] < 150, result
