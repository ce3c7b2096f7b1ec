"""`interlace check` as users run it: the quickstart is ready, the unclear example is not."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from interlace.readiness import KINDS, readiness_errors
from readiness.configs import clear, load, write

from support import QUICKSTART, ROOT, closed_port, interlace

UNCLEAR = ROOT / "examples" / "unclear" / "hub.yaml"


def test_quickstart_is_ready_offline() -> None:
    result = interlace("check", str(QUICKSTART / "hub.yaml"), "--offline", "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert report["counts"]["error"] == 0 and report["counts"]["warning"] == 0


def test_unclear_example_shows_every_kind_and_fails() -> None:
    result = interlace("check", str(UNCLEAR), "--format", "json", "--timeout", "2")
    assert result.returncode == 1, result.stderr
    found = {f["kind"] for f in json.loads(result.stdout)["findings"]}
    # every kind but the engine note: the example's expressions are all compiled (test_kinds has that one)
    assert found == set(KINDS) - {"mapping-not-compiled"}


def test_every_kind_is_explained_in_the_docs() -> None:
    text = (ROOT / "docs" / "check.md").read_text()
    missing = [kind for kind in KINDS if f"`{kind}`" not in text]
    assert missing == []


def test_text_report_names_line_why_and_fix() -> None:
    result = interlace("check", str(UNCLEAR), "--offline")
    assert result.returncode == 1
    assert f"{UNCLEAR}:48" in result.stdout
    assert "mapping-unknown-field" in result.stdout and "'emial'" in result.stdout
    assert "why " in result.stdout and "fix " in result.stdout


def test_html_report_is_one_page(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    result = interlace("check", str(UNCLEAR), "--offline", "--format", "html", "--output", str(page))
    assert result.returncode == 1
    html = page.read_text()
    assert html.startswith("<!doctype html>") and "Who owns the exceptions?" in html
    assert "&#x27;emial&#x27;" in html and "<script" not in html


def test_invalid_config_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "hub.yaml"
    bad.write_text("flows: {x: {trigger: {system: nowhere}}}\n")
    result = interlace("check", str(bad), "--offline")
    assert result.returncode == 2 and "no system named 'nowhere'" in result.stderr


def test_readiness_errors_for_run(tmp_path: Path) -> None:
    assert readiness_errors(load(write(tmp_path, clear()))) == []
    config = clear()
    del config["flows"]["orders"]["on_error"]
    del config["flows"]["orders"]["tests"]
    errors = readiness_errors(load(write(tmp_path, config)))
    assert [f.kind for f in errors] == ["failure-no-owner"]


def test_quickstart_copy_is_ready_with_live_probes(tmp_path: Path) -> None:
    folder = tmp_path / "qs"
    shutil.copytree(QUICKSTART, folder, ignore=shutil.ignore_patterns("*.db*", ".interlace", "crm-orders.jsonl"))
    config = folder / "hub.yaml"
    with closed_port() as port:  # not 9100: a quickstart may be running on this machine
        result = interlace("check", str(config), "--format", "json", env={"CRM_TOKEN": "t", "CRM_PORT": str(port)})
    kinds = {f["kind"] for f in json.loads(result.stdout)["findings"]}
    # the stand-in CRM is not running: the live probe says so, and nothing else is wrong
    assert kinds == {"system-unreachable"}
    assert result.returncode == 1


def test_a_bulk_flow_is_not_asked_for_validation_or_tests(tmp_path: Path) -> None:
    config = tmp_path / "hub.yaml"
    flow = (
        "    trigger: {{system: legacy, table: a, cursor: id{bulk}}}\n"
        "    deliver: {{system: reporting, table: b, mode: insert}}\n"
        "    on_error: {{owner: dba}}\n"
        "    gain: {{minutes_saved_per_message: 1}}\n"
    )
    head = (
        "owners: {dba: {email: dba@example.test}}\n"
        "systems:\n"
        "  legacy: {connector: postgres, dsn: 'postgresql://postgres@127.0.0.1:5432/test'}\n"
        "  reporting: {connector: postgres, dsn: 'postgresql://postgres@127.0.0.1:5432/test'}\n"
        "flows:\n  copy:\n"
    )
    config.write_text(head + flow.format(bulk=", bulk: true"))
    bulk = json.loads(interlace("check", str(config), "--offline", "--format", "json").stdout)
    config.write_text(head + flow.format(bulk=""))
    rows = json.loads(interlace("check", str(config), "--offline", "--format", "json").stdout)

    def kinds(report: object) -> set[str]:
        return {f["kind"] for f in report["findings"]}  # type: ignore[index]

    assert {"no-validation", "flow-no-tests"} <= kinds(rows)
    assert not {"no-validation", "flow-no-tests"} & kinds(bulk)
