"""Run the JSONata conformance cases against Interlace's mapping engine.

The cases (taken from the reference implementation, jsonata-js) live outside the repository, in
``../shared/conformance/jsonata`` relative to the repository root; ``--cases-dir`` points elsewhere.
Every case is evaluated through :class:`interlace.mapping.jsonata.Expression`, the same wrapper the
flows use, with the case's ``timelimit`` (or ``--timeout-ms``) as the wrapper's evaluation timeout.
Cases run in a worker process that is killed and replaced when a case overruns its limit by more
than ``--grace-s``, so an engine that ignores its own timeout cannot hang the run.

Outcomes, compared as JSON values:

* ``result``: the value must equal the expected one (``1 == 1.0``, but ``true != 1``; object key
  order is ignored, array order is not);
* ``undefinedResult``: the wrapper must return ``None`` (it returns ``None`` for "no value");
* ``code`` (or ``error.code``): any :class:`~interlace.errors.MappingError` passes (the code
  itself is not compared).

Usage::

    .venv/bin/python benchmarks/jsonata_conformance.py [--cases-dir DIR] [--json results.json]
        [--group NAME ...] [--timeout-ms 2000] [--grace-s 5] [--in-process] [-q]

The exit status is 0 when every case ran (failures included) and 2 when the cases are missing.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CASES_DIR = REPO_ROOT.parent / "shared" / "conformance" / "jsonata"

Status = Literal["passed", "failed", "skipped"]
ExpectKind = Literal["result", "undefined", "error"]

_UNDEFINED_TEXT = "<undefined/None>"
STARTUP_LIMIT_S = 60.0


@dataclass(frozen=True)
class Case:
    """One conformance case, with its input resolved."""

    group: str
    name: str
    expr: str | None
    data: Any
    bindings: dict[str, Any]
    timelimit_ms: int | None
    depth: int | None
    expect: ExpectKind | None
    expected: Any = None
    code: str | None = None
    has_input: bool = True
    """False for `dataset: null` (no input document); the wrapper can only pass None (JSON null)."""
    problem: str | None = None
    """Why the case cannot run (it is then skipped)."""

    @property
    def case_id(self) -> str:
        return f"{self.group}/{self.name}"


@dataclass
class CaseResult:
    """The outcome of one case."""

    group: str
    name: str
    status: Status
    expr: str | None = None
    expected: str | None = None
    actual: str | None = None
    seconds: float = 0.0
    engine: str | None = None
    """Which engine evaluated it: "compiled" or "jsonatapy" (the fallback); None when it did not compile."""


@dataclass
class GroupSummary:
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    compiled: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.skipped


# --------------------------------------------------------------------------------------------------
# Loading


def find_cases_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The conformance folder: `explicit`, else $INTERLACE_JSONATA_CASES, else ../shared beside the repo."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("INTERLACE_JSONATA_CASES")
    if env:
        return Path(env)
    return DEFAULT_CASES_DIR


def _load_json(path: Path) -> Any:
    with path.open(encoding="utf-8") as fh:
        return json.load(fh)


def _make_case(group: str, name: str, raw: Any, base: Path, datasets: dict[str, Any]) -> Case:
    def broken(problem: str, expr: str | None = None) -> Case:
        return Case(group, name, expr, None, {}, None, None, None, problem=problem)

    if not isinstance(raw, dict):
        return broken("case is not a JSON object")
    expr: str | None
    if isinstance(raw.get("expr"), str):
        expr = raw["expr"]
    elif isinstance(raw.get("expr-file"), str):
        try:
            expr = (base / raw["expr-file"]).read_text(encoding="utf-8")
        except OSError as exc:
            return broken(f"cannot read expr-file: {exc}")
    else:
        return broken("case has neither expr nor expr-file")

    # As in jsonata-js's runner: `data` wins (null is a null input); else the named dataset;
    # `dataset: null` means no input at all (the wrapper can only pass None for that).
    has_input = True
    if "data" in raw:
        data = raw["data"]
    elif raw.get("dataset") is not None:
        if raw["dataset"] not in datasets:
            return broken(f"unknown dataset {raw['dataset']!r}", expr)
        data = datasets[raw["dataset"]]
    else:
        data, has_input = None, False

    bindings = raw.get("bindings") or {}
    if not isinstance(bindings, dict):
        return broken("bindings is not an object", expr)
    timelimit = raw.get("timelimit")
    depth = raw.get("depth")

    expect: ExpectKind
    expected: Any = None
    code: str | None = None
    if "code" in raw:
        expect, code = "error", str(raw["code"])
    elif isinstance(raw.get("error"), dict):  # a few cases spell it {"error": {"code": ...}}
        expect, code = "error", str(raw["error"].get("code"))
    elif raw.get("undefinedResult") is True:
        expect = "undefined"
    elif "result" in raw:
        expect, expected = "result", raw["result"]
    else:
        return broken("case has no expected outcome (result, undefinedResult or code)", expr)
    return Case(
        group,
        name,
        expr,
        data,
        bindings,
        int(timelimit) if isinstance(timelimit, int | float) else None,
        int(depth) if isinstance(depth, int | float) else None,
        expect,
        expected,
        code,
        has_input,
    )


def load_cases(cases_dir: Path, groups: Iterable[str] | None = None) -> list[Case]:
    """Every case under `cases_dir`/groups, sorted by group then file; a list file gives NAME[i]."""
    groups_dir = cases_dir / "groups"
    if not groups_dir.is_dir():
        raise FileNotFoundError(f"no JSONata conformance cases in {cases_dir} (expected {groups_dir})")
    datasets = {p.stem: _load_json(p) for p in sorted((cases_dir / "datasets").glob("*.json"))}
    wanted = set(groups) if groups else None
    cases: list[Case] = []
    for group_dir in sorted(p for p in groups_dir.iterdir() if p.is_dir()):
        if wanted is not None and group_dir.name not in wanted:
            continue
        for path in sorted(group_dir.glob("*.json")):
            raw = _load_json(path)
            if isinstance(raw, list):
                for i, item in enumerate(raw):
                    cases.append(_make_case(group_dir.name, f"{path.stem}[{i}]", item, group_dir, datasets))
            else:
                cases.append(_make_case(group_dir.name, path.stem, raw, group_dir, datasets))
    return cases


# --------------------------------------------------------------------------------------------------
# Comparing


def json_equal(a: Any, b: Any) -> bool:
    """Equality of JSON values: numbers by value (1 == 1.0), booleans never equal to numbers."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
            return True
        return a == b
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return False


def _show(value: Any, limit: int = 300) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=repr)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _expected_text(case: Case) -> str:
    if case.expect == "error":
        return f"error {case.code}"
    if case.expect == "undefined":
        return "undefined"
    return _show(case.expected)


# --------------------------------------------------------------------------------------------------
# Running one case (in whichever process evaluates)


def run_case(case: Case, default_timeout_ms: int) -> CaseResult:
    """Evaluate one case through the wrapper and judge it."""
    from interlace.errors import MappingError
    from interlace.mapping.jsonata import Expression

    result = CaseResult(case.group, case.name, "skipped", expr=case.expr, expected=_expected_text(case))
    if case.problem is not None or case.expr is None:
        result.actual = case.problem
        return result
    started = time.perf_counter()
    timeout_ms = case.timelimit_ms or default_timeout_ms
    try:
        expression = Expression(case.expr, timeout_ms=timeout_ms)
        result.engine = expression.engine
        actual = expression.evaluate(case.data, case.bindings or None)
    except MappingError as exc:
        result.seconds = time.perf_counter() - started
        result.status = "passed" if case.expect == "error" else "failed"
        result.actual = f"MappingError: {exc}"
        return result
    except Exception as exc:  # any other exception escaping the wrapper is a wrapper bug
        result.seconds = time.perf_counter() - started
        result.status = "failed"
        result.actual = f"{type(exc).__name__} escaped the wrapper: {exc}"
        return result
    result.seconds = time.perf_counter() - started
    if case.expect == "error":
        ok = False
    elif case.expect == "undefined":
        ok = actual is None
    else:
        ok = json_equal(case.expected, actual)
    result.status = "passed" if ok else "failed"
    result.actual = _UNDEFINED_TEXT if actual is None and case.expect != "result" else _show(actual)
    return result


def _worker_main(cases_dir: str, groups: list[str] | None, default_timeout_ms: int) -> None:
    """Worker loop: read a case index per stdin line, answer one JSON line per case on stdout."""
    cases = load_cases(Path(cases_dir), groups)
    from interlace.mapping.jsonata import Expression  # import before saying ready

    Expression("1")
    out = sys.stdout
    out.write("ready\n")
    out.flush()
    for line in sys.stdin:
        index = int(line)
        out.write(json.dumps(asdict(run_case(cases[index], default_timeout_ms))) + "\n")
        out.flush()


# --------------------------------------------------------------------------------------------------
# Running many cases with a process-level guard


class _Worker:
    """A child process evaluating cases; replaced when a case overruns its hard limit."""

    def __init__(self, cases_dir: Path, groups: list[str] | None, default_timeout_ms: int) -> None:
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--worker",
            "--cases-dir",
            str(cases_dir),
            "--timeout-ms",
            str(default_timeout_ms),
        ]
        for g in groups or []:
            cmd += ["--group", g]
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            bufsize=1,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        try:  # loading the cases and importing the engine do not count against a case's limit
            ready = self.lines.get(timeout=STARTUP_LIMIT_S)
        except queue.Empty:
            ready = None
        if ready != "ready\n":
            self.close()
            raise RuntimeError(f"conformance worker did not start within {STARTUP_LIMIT_S} s")

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def ask(self, index: int, hard_limit_s: float) -> dict[str, Any] | None:
        """The worker's answer for case `index`, or None when it overran or died."""
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(f"{index}\n")
            self.proc.stdin.flush()
            line = self.lines.get(timeout=hard_limit_s)
        except (OSError, queue.Empty):
            return None
        if line is None:
            return None
        answer: dict[str, Any] = json.loads(line)
        return answer

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def run_cases(
    cases: Sequence[Case],
    *,
    cases_dir: Path,
    groups: list[str] | None = None,
    default_timeout_ms: int = 2000,
    grace_s: float = 5.0,
    in_process: bool = False,
    progress: bool = False,
) -> list[CaseResult]:
    """Judge every case; with `in_process` False each runs in a guarded worker process."""
    if in_process:
        return [run_case(c, default_timeout_ms) for c in cases]
    results: list[CaseResult] = []
    worker: _Worker | None = None
    try:
        for index, case in enumerate(cases):
            if case.problem is not None:
                results.append(run_case(case, default_timeout_ms))
                continue
            if worker is None:
                worker = _Worker(cases_dir, groups, default_timeout_ms)
            limit_s = (case.timelimit_ms or default_timeout_ms) / 1000 + grace_s
            started = time.perf_counter()
            answer = worker.ask(index, limit_s)
            if answer is None:
                worker.close()
                worker = None
                results.append(
                    CaseResult(
                        case.group,
                        case.name,
                        "failed",
                        expr=case.expr,
                        expected=_expected_text(case),
                        actual=f"no answer within the hard limit of {limit_s:.1f} s (worker killed)",
                        seconds=time.perf_counter() - started,
                    )
                )
            else:
                results.append(CaseResult(**answer))
            if progress and (index + 1) % 200 == 0:
                print(f"  ... {index + 1}/{len(cases)} cases", file=sys.stderr)
    finally:
        if worker is not None:
            worker.close()
    return results


def summarize(results: Iterable[CaseResult]) -> dict[str, GroupSummary]:
    summary: dict[str, GroupSummary] = {}
    for r in results:
        g = summary.setdefault(r.group, GroupSummary())
        if r.engine == "compiled":
            g.compiled += 1
        if r.status == "passed":
            g.passed += 1
        elif r.status == "failed":
            g.failed += 1
            g.failures.append(r.name)
        else:
            g.skipped += 1
    return summary


def totals(summary: dict[str, GroupSummary]) -> GroupSummary:
    total = GroupSummary()
    for g in summary.values():
        total.passed += g.passed
        total.failed += g.failed
        total.skipped += g.skipped
        total.compiled += g.compiled
    return total


# --------------------------------------------------------------------------------------------------
# Command line


def _report(results: list[CaseResult], summary: dict[str, GroupSummary], quiet: bool, elapsed: float) -> None:
    failures = [r for r in results if r.status != "passed"]
    if failures:
        print("Failures and skips:")
        for r in failures:
            print(f"\n[{r.status.upper()}] {r.group} / {r.name}")
            print(f"  expression: {(r.expr or '').strip()[:400]}")
            print(f"  expected:   {r.expected}")
            print(f"  actual:     {r.actual}")
        print()
    width = max((len(name) for name in summary), default=5)
    print(f"{'group':<{width}}  passed  failed  skipped  compiled")
    for name, g in summary.items():
        if quiet and not (g.failed or g.skipped):
            continue
        print(f"{name:<{width}}  {g.passed:>6}  {g.failed:>6}  {g.skipped:>7}  {g.compiled:>8}")
    t = totals(summary)
    print(
        f"TOTAL: {t.passed} passed, {t.failed} failed, {t.skipped} skipped of {t.total} cases "
        f"in {len(summary)} groups ({elapsed:.1f} s); {t.compiled} compiled, the others on jsonatapy"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--cases-dir", help=f"conformance folder (default: {DEFAULT_CASES_DIR})")
    parser.add_argument("--json", metavar="FILE", help="write per-group results (and failures) as JSON")
    parser.add_argument("--group", action="append", help="only this group (repeatable)")
    parser.add_argument(
        "--timeout-ms", type=int, default=None, help="wrapper timeout for cases without a timelimit"
    )
    parser.add_argument("--grace-s", type=float, default=5.0, help="extra seconds before a worker is killed")
    parser.add_argument("--in-process", action="store_true", help="no worker process (no hard guard)")
    parser.add_argument("-q", "--quiet", action="store_true", help="list only groups with failures")
    parser.add_argument("--write", action="store_true", help="regenerate the figures of docs/mapping.md")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for stream in (sys.stdout, sys.stderr):  # some expressions hold lone surrogates
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")

    from interlace.mapping.jsonata import DEFAULT_TIMEOUT_MS

    timeout_ms: int = args.timeout_ms or DEFAULT_TIMEOUT_MS
    cases_dir = find_cases_dir(args.cases_dir)
    if args.worker:
        _worker_main(str(cases_dir), args.group, timeout_ms)
        return 0
    try:
        cases = load_cases(cases_dir, args.group)
    except FileNotFoundError as exc:
        print(f"error: {exc}; pass --cases-dir", file=sys.stderr)
        return 2
    started = time.perf_counter()
    results = run_cases(
        cases,
        cases_dir=cases_dir,
        groups=args.group,
        default_timeout_ms=timeout_ms,
        grace_s=args.grace_s,
        in_process=args.in_process,
        progress=not args.quiet,
    )
    elapsed = time.perf_counter() - started
    summary = summarize(results)
    _report(results, summary, args.quiet, elapsed)
    if args.json:
        t = totals(summary)
        doc = {
            "cases_dir": str(cases_dir),
            "default_timeout_ms": timeout_ms,
            "seconds": round(elapsed, 2),
            "total": {
                "passed": t.passed, "failed": t.failed, "skipped": t.skipped, "cases": t.total, "compiled": t.compiled
            },
            "groups": {
                name: {
                    "passed": g.passed, "failed": g.failed, "skipped": g.skipped, "compiled": g.compiled,
                    "failures": g.failures,
                }
                for name, g in summary.items()
            },
            "failures": [asdict(r) for r in results if r.status == "failed"],
        }
        Path(args.json).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    if args.write and not args.group:
        write_doc(results, summary, elapsed)
        print(f"wrote {DOC}")
    return 0


DOC = REPO_ROOT / "docs" / "mapping.md"
_START, _END = "<!-- conformance:figures -->", "<!-- /conformance:figures -->"


def write_doc(results: list[CaseResult], summary: dict[str, GroupSummary], elapsed: float, doc: Path = DOC) -> None:
    """Replace the figures of docs/mapping.md's Conformance section (between its markers): the
    totals, every failure and the per-group table."""
    import importlib.metadata
    import platform

    t = totals(summary)
    lines = [
        f"Measured with the compiler and jsonatapy {importlib.metadata.version('jsonatapy')} (Python"
        f" {platform.python_version()}, {platform.machine()}), in {elapsed:.0f} s: **{t.passed:,} passed,"
        f" {t.failed} failed** of {t.total:,}; **{t.compiled:,} cases ran compiled**, the others on jsonatapy"
        " (the constructs listed above) or are syntax errors the cases expect (neither engine compiles them).",
        "",
        "Every failure (`benchmarks/jsonata_conformance.py --write` lists them here):",
        "",
    ]
    for r in results:
        if r.status == "failed":
            lines.append(f"- `{r.group}/{r.name}` ({r.engine or 'not compiled'}): `{' '.join((r.expr or '').split())}`"
                         f" expects {r.expected}, gives {r.actual}")
    lines += [
        "",
        "Per group (*compiled*: cases the compiler ran; *not compiled*: on jsonatapy, or a syntax error the"
        " case expects):",
        "",
        "| group | passed | failed | compiled | not compiled |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, g in summary.items():
        lines.append(f"| {name} | {g.passed} | {g.failed} | {g.compiled} | {g.total - g.compiled} |")
    page = doc.read_text(encoding="utf-8")
    before, rest = page.split(_START, 1)
    _, after = rest.split(_END, 1)
    doc.write_text(before + _START + "\n" + "\n".join(lines) + "\n" + _END + after, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
