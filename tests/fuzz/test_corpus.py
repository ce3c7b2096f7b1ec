"""Replays corpus/: each file is an input that once crashed a door or sits on the edge of a limit.
`corpus/<target>/<case>` is fed to the target of that name (a format, `body` or `config`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fuzz.targets import TARGETS, config

CORPUS = Path(__file__).parent / "corpus"
CASES = sorted(p for p in CORPUS.glob("*/*") if p.is_file())


def test_the_corpus_covers_every_target() -> None:
    assert {p.parent.name for p in CASES} == {*TARGETS, "config"}


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_corpus_case(case: Path, tmp_path: Path) -> None:
    data = case.read_bytes()
    if case.parent.name == "config":
        config(tmp_path, data)
    else:
        TARGETS[case.parent.name](data)
