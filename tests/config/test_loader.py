"""Config loading: every problem listed at once, each with its YAML path and line; secrets by
reference only, resolved at load and never printed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from interlace.config.loader import load_config
from interlace.errors import ConfigError

from support import QUICKSTART, interlace

BROKEN = """\
hub: broken
owners:
  ops: {email: ops@x.test}
systems:
  shop: {connector: webhook}
  crm:
    connector: http
    base_url: http://127.0.0.1:1/api
    auth: {bearer: "${env:INTERLACE_TEST_MISSING_TOKEN}"}
  legacy: {connector: carrier-pigeon}
flows:
  one:
    trigger: {system: shop}
    steps:
      - map: '{"a": $sum(}'
    deliver: {system: warehouse}
    on_error: {owner: nobody}
"""


def problems_of(tmp_path: Path, text: str) -> list[tuple[str, int | None, str]]:
    path = tmp_path / "hub.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return [(p.path, p.line, p.message) for p in info.value.problems]


def test_every_problem_is_listed_with_path_and_line(tmp_path: Path) -> None:
    found = problems_of(tmp_path, BROKEN)
    by_path = {path: (line, msg) for path, line, msg in found}
    assert by_path["systems.crm.auth.bearer"][0] == 9
    assert "INTERLACE_TEST_MISSING_TOKEN is not set" in by_path["systems.crm.auth.bearer"][1]
    assert by_path["systems.legacy.connector"][0] == 10
    assert "unknown connector 'carrier-pigeon'" in by_path["systems.legacy.connector"][1]
    assert by_path["flows.one.steps[0].map"][0] == 15
    assert "invalid JSONata" in by_path["flows.one.steps[0].map"][1]
    assert by_path["flows.one.deliver[0].system"][0] == 16
    assert "no system named 'warehouse'" in by_path["flows.one.deliver[0].system"][1]
    assert by_path["flows.one.on_error.owner"] == (17, "no owner named 'nobody'")


def test_cli_validate_exits_2_listing_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "hub.yaml"
    path.write_text(BROKEN)
    result = interlace("validate", str(path))
    assert result.returncode == 2
    for expected in (
        "hub.yaml:9: systems.crm.auth.bearer: environment variable INTERLACE_TEST_MISSING_TOKEN is not set",
        "hub.yaml:10: systems.legacy.connector: unknown connector 'carrier-pigeon'",
        "hub.yaml:15: flows.one.steps[0].map: invalid JSONata",
        "hub.yaml:16: flows.one.deliver[0].system: no system named 'warehouse'",
        "hub.yaml:17: flows.one.on_error.owner: no owner named 'nobody'",
    ):
        assert expected in result.stderr.replace("\n", " ") or expected in result.stderr, result.stderr
    assert "5 problem(s)" in result.stderr


ONE_OF_EACH = """\
hub: {name: all-at-once, port: eighty}
owners:
  ops: {email: ops@x.test}
entities:
  order: {key: id, owner: nobody}
systems:
  shop: {connector: webhook, concurrency: lots}
  legacy: {connector: carrier-pigeon}
flows:
  one:
    trigger: {system: shop, event: order.created}
    colour: red
    steps:
      - validate: invoice
      - map: '{"a": $sum(}'
      - mapp: x
      - filter: 'total >'
    deliver: {system: warehouse}
    on_error: {owner: nobody, retries: 3}
  two:
    trigger: {system: shop}
    steps: [{route: [{when: "true", to: three}]}]
"""


def test_one_pass_lists_type_setting_and_reference_errors_together(tmp_path: Path) -> None:
    """Type and unknown-setting errors do not hide the cross-reference errors behind them."""
    found = {(path, line): msg for path, line, msg in problems_of(tmp_path, ONE_OF_EACH)}
    expected = {
        ("hub.port", 1): "valid integer",  # a type error
        ("systems.shop.concurrency", 7): "valid integer",
        ("flows.one.colour", 12): "unknown setting 'colour'",  # an unknown setting
        ("flows.one.on_error.retries", 19): "unknown setting 'retries'",
        ("flows.one.steps[2]", 16): "a step is one of",
        ("systems.legacy.connector", 8): "unknown connector 'carrier-pigeon'",  # the references
        ("flows.one.steps[1].map", 15): "invalid JSONata",
        ("flows.one.steps[3].filter", 17): "invalid JSONata",
        ("flows.one.deliver[0].system", 18): "no system named 'warehouse'",
        ("flows.one.steps[0].validate", 14): "no entity named 'invoice'",
        ("flows.one.on_error.owner", 19): "no owner named 'nobody'",
        ("entities.order.owner", 5): "no owner named 'nobody'",
        ("flows.two.steps[0].route[0].to", 22): "no flow named 'three'",
    }
    for where, text in expected.items():
        assert text in found.get(where, ""), (where, text, found)
    # `shop` is in the file, only invalid: a reference to it is not a second problem
    assert not [m for m in found.values() if "no system named 'shop'" in m], found
    assert len(found) == len(expected), found


def test_schema_errors_name_the_setting(tmp_path: Path) -> None:
    found = problems_of(
        tmp_path,
        "systems:\n  crm:\n    connector: http\n    base_url: http://x\n    timeout: soon\n    colour: red\n"
        "flows:\n  f:\n    trigger: {system: crm, schedule: '* * * * *'}\n    steps: [{mapp: x}]\n",
    )
    paths = {(p, line) for p, line, _ in found}
    assert ("systems.crm.timeout", 5) in paths
    assert ("systems.crm.colour", 6) in paths
    assert ("flows.f.steps[0]", 10) in paths
    assert any(p == "flows.f.trigger" and "exactly one" in m for p, _, m in found)


def test_secrets_resolve_and_are_never_printed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "token.txt").write_text("s3cr3t-from-file\n")
    monkeypatch.setenv("INTERLACE_TEST_TOKEN", "s3cr3t-from-env")
    path = tmp_path / "hub.yaml"
    path.write_text(
        "systems:\n"
        "  a: {connector: http, base_url: 'http://x', auth: {bearer: '${env:INTERLACE_TEST_TOKEN}'}}\n"
        "  b: {connector: http, base_url: 'http://x', auth: {bearer: '${file:token.txt}'}}\n"
    )
    loaded = load_config(path)
    assert loaded.system_settings["a"].auth.bearer == "s3cr3t-from-env"  # type: ignore[attr-defined]
    assert loaded.system_settings["b"].auth.bearer == "s3cr3t-from-file"  # type: ignore[attr-defined]
    result = interlace("validate", str(path), env={"INTERLACE_TEST_TOKEN": "s3cr3t-from-env"})
    assert result.returncode == 0
    assert "s3cr3t" not in result.stdout + result.stderr


def test_quickstart_is_valid_and_schema_lists_connectors() -> None:
    result = interlace("validate", str(QUICKSTART / "hub.yaml"), env={"CRM_TOKEN": "x", "CRM_PORT": "9100"})
    assert result.returncode == 0, result.stderr
    schema = json.loads(interlace("schema", check=True).stdout)
    variants = schema["properties"]["systems"]["additionalProperties"]["oneOf"]
    names = {v["properties"]["connector"]["const"] for v in variants}
    assert {"webhook", "http", "sqlite"} <= names


def test_version_and_help() -> None:
    assert interlace("version", check=True).stdout.startswith("interlace ")
    for command in (["run"], ["validate"], ["send"], ["trace"], ["schema"], ["dlq", "retry"], ["dlq", "list"]):
        assert interlace(*command, "--help").returncode == 0
