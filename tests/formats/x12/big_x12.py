"""A big X12 file for the streaming tests and the benchmark: one interchange, one group, as many
850s (ten lines each) as it takes to reach a size; and reading one in a child process to measure
its peak memory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAD = (
    "ISA*00*          *00*          *ZZ*GLOBEX         *ZZ*ACMEDIST       *240102*1030*U*00401*000000101*0*P*>~\n"
    "GS*PO*GLOBEX*ACMEDIST*20240102*1030*101*X*004010~\n"
)


def order(n: int) -> str:
    lines = "".join(
        f"PO1*{i}*{i + 2}*EA*{i}.25**VP*SKU-{n}-{i}*UP*01234567890{i % 10}~\nPID*F****Item {i}~\n" for i in range(1, 11)
    )
    body = (
        f"BEG*00*SA*PO-{n}**20240102~\nREF*DP*038~\nDTM*002*20240110~\n"
        f"N1*ST*Store {n}*92*{n:04d}~\nN3*100 Main Street~\nN4*Springfield*IL*62701*US~\n{lines}CTT*10~\n"
    )
    count = body.count("~") + 2
    return f"ST*850*{n:04d}~\n{body}SE*{count}*{n:04d}~\n"  # ST02 unique in the group


def write_big(path: Path, size: int) -> tuple[int, int]:
    """Write about `size` bytes; returns (sets, segments)."""
    sets = segments = 0
    with path.open("w") as out:
        out.write(HEAD)
        written = len(HEAD)
        while written < size:
            sets += 1
            text = order(sets)
            segments += text.count("~")
            out.write(text)
            written += len(text)
        tail = f"GE*{sets}*101~\nIEA*1*000000101~\n"
        out.write(tail)
    return sets, segments + 4


READER = """
import json, sys, time
from interlace.formats import codec_for, parse_format
config = {"type": "x12", "partners": {"globex": {"id": "GLOBEX"}}, **json.loads(sys.argv[2])}
codec = codec_for(parse_format(config))
start = time.perf_counter()
docs = errors = acks = 0
with open(sys.argv[1], "rb") as stream:
    for record in codec.read(stream, name=sys.argv[1]):
        if record.error is not None:
            errors += 1
            if errors < 3:
                print(record.error, file=sys.stderr)
        elif record.value["kind"] == "document":
            docs += 1
        else:
            acks += 1
seconds = time.perf_counter() - start
peak = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")) / 1024
print(json.dumps({"documents": docs, "errors": errors, "acks": acks, "seconds": seconds, "peak_mb": peak}))
"""


def read_in_child(path: Path, **config: object) -> dict[str, float]:
    """Read every record of `path` in a fresh interpreter: counts, seconds and peak RSS (MB, VmHWM: the
    high-water mark of this process alone; getrusage would count the parent's, kept across exec)."""
    args = [sys.executable, "-c", READER, str(path), json.dumps(config)]
    done = subprocess.run(args, capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout))
