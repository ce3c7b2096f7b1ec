"""docs/approvals.md's example is the hub every approvals test runs (tests/approvals_support.py
reads it from the page); here: it passes `interlace check` with no finding about its task, its
flow test passes, and the page's commands, API calls and screenshots exist."""

from __future__ import annotations

import json
import re
from pathlib import Path

from approvals_support import DOC, write_hub
from interlace.web.api import Api
from interlace.web.rates import RateMeter
from interlace.web.systems import SystemHealth

from support import ROOT, interlace


def test_the_example_is_ready_and_its_flow_test_passes(tmp_path: Path) -> None:
    config = write_hub(tmp_path)
    report = json.loads(interlace("check", str(config), "--offline", "--format", "json").stdout)
    assert [f for f in report["findings"] if f["kind"].startswith("task-")] == []
    assert report["counts"]["error"] == 0, report["findings"]
    result = interlace("test", str(config))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_page_names_real_commands_calls_and_pictures(tmp_path: Path) -> None:
    page = DOC.read_text()
    made = interlace("token", "create", str(write_hub(tmp_path)), "--name", "alice", "--role", "operator")
    assert made.returncode == 0 and made.stdout.startswith("il_"), made.stderr
    assert "`interlace token create hub.yaml --name alice --role operator`" in page
    for picture in re.findall(r"\]\((approvals/[\w-]+\.png)\)", page):
        assert (ROOT / "docs" / picture).exists(), picture

    class Hub:  # only what Api.operations reads
        backend = None

    operations = Api(Hub(), RateMeter(), SystemHealth({})).operations()  # type: ignore[arg-type]
    for op in operations:
        if op.tag == "tasks":
            assert f"`{op.method} /api{op.path}" in page, f"docs/approvals.md does not name {op.method} {op.path}"
