"""docs/approvals.md's example is the hub every approvals test runs (tests/approvals_support.py
reads it from the page); here: `interlace check` finds nothing in it, its flow tests pass, and
the page's command, API calls and screenshots exist."""

from __future__ import annotations

import re
from inspect import signature
from pathlib import Path

from approvals_support import DOC, write_hub
from interlace.cli.tokens import token
from interlace.readiness.loading import load_for_check
from interlace.readiness.report import run_checks
from interlace.testing.runner import run_tests
from interlace.web.api import Api
from interlace.web.rates import RateMeter
from interlace.web.systems import SystemHealth

from support import ROOT


def test_the_example_is_ready_and_its_flow_tests_pass(tmp_path: Path) -> None:
    loaded, unset = load_for_check(write_hub(tmp_path))
    report = run_checks(loaded, offline=True, timeout=2.0, unset_secrets=unset)
    assert [f for f in report.findings if f.severity != "info"] == [], "`interlace check` finds nothing"
    results = run_tests(loaded)
    assert len(results) == 2 and all(r.ok for r in results), [(r.failures, r.error) for r in results]


def test_the_page_names_real_commands_calls_and_pictures() -> None:
    page = DOC.read_text()
    [create] = [c.callback for c in token.registered_commands if c.name == "create"]
    assert create is not None and {"config", "name", "role"} <= set(signature(create).parameters)
    assert "`interlace token create hub.yaml --name alice --role operator`" in page
    for picture in re.findall(r"\]\((approvals/[\w-]+\.png)\)", page):
        assert (ROOT / "docs" / picture).exists(), picture

    class Hub:  # only what Api.operations reads
        backend = None

    operations = Api(Hub(), RateMeter(), SystemHealth({})).operations()  # type: ignore[arg-type]
    for op in operations:
        if op.tag == "tasks":
            assert f"`{op.method} /api{op.path}" in page, f"docs/approvals.md does not name {op.method} {op.path}"
