"""The compiled path against jsonatapy, the reference: the same value, or an error from both.

Two corpora: the conformance cases the compiler handles (when the cases are here), and generated
expressions over generated documents (hypothesis, bounded to run in a few seconds).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from interlace.errors import MappingError
from interlace.mapping.jsonata import Expression
from mapping.jsonata_corpus import documents, expressions, objects, same, show

ROOT = Path(__file__).resolve().parents[2]


def _outcome(evaluate: Any, data: Any, bindings: Any = None) -> tuple[str, Any]:
    try:
        return "value", evaluate(data, bindings)
    except MappingError as exc:
        return "error", str(exc)


def differs(expression: Expression, data: Any, bindings: Any = None) -> str | None:
    """Why the two engines disagree on `data`, or None when they agree."""
    mine = _outcome(expression.evaluate, data, bindings)
    theirs = _outcome(expression.reference(), data, bindings)
    if mine[0] == theirs[0] == "error":
        return None
    if mine[0] == theirs[0] == "value" and same(mine[1], theirs[1]):
        return None
    return f"{expression.source!r} on {show(data)}: compiled {mine}, jsonatapy {theirs}"


@seed(20261201)
@settings(database=None, max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expression=expressions, docs=st.lists(st.one_of(objects, documents), min_size=1, max_size=3))
def test_generated_expressions_agree_with_jsonatapy(expression: str, docs: list[Any]) -> None:
    try:
        compiled = Expression(expression, timeout_ms=1000)
    except MappingError:
        return  # not JSONata: both refuse it (the constructor checks with jsonatapy)
    if compiled.engine != "compiled":
        return
    for doc in docs:
        assert differs(compiled, doc) is None


def _cases() -> list[Any]:
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from jsonata_conformance import find_cases_dir, load_cases

    cases_dir = find_cases_dir(os.environ.get("INTERLACE_JSONATA_CASES"))
    if not (cases_dir / "groups").is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"JSONata conformance cases not found in {cases_dir}")
        pytest.skip(f"JSONata conformance cases not found in {cases_dir} (docs/mapping.md, Conformance)")
    return load_cases(cases_dir)


def test_conformance_cases_the_compiler_handles_agree_with_jsonatapy() -> None:
    compiled = 0
    problems = []
    for case in _cases():
        if case.expr is None or case.problem is not None:
            continue
        try:
            expression = Expression(case.expr, timeout_ms=case.timelimit_ms or 2000)
        except MappingError:
            continue
        if expression.engine != "compiled":
            continue
        compiled += 1
        why = differs(expression, case.data, case.bindings or None)
        if why is not None:
            problems.append(f"{case.case_id}: {why}")
    assert problems == []
    assert compiled >= 900, f"only {compiled} cases compiled"
