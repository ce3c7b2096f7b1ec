"""`interlace test`: flows run through their real steps, systems replaced by in-memory fakes."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

from interlace.readiness.loading import load_for_check
from interlace.testing import run_tests

from support import QUICKSTART, interlace

CONFIG = """
owners: {ops: {email: ops@x.test}}
systems:
  shop: {connector: webhook}
  erp: {connector: sqlite, path: ./erp.db}
  crm: {connector: http, base_url: "http://127.0.0.1:9/api"}
entities:
  order:
    key: id
    schema: {type: object, required: [id, lines], properties: {id: {type: string}, lines: {type: array}}}
flows:
  orders:
    trigger: {system: shop, event: order.created}
    steps:
      - validate: order
      - route: [{when: '$count(lines) > 2', to: big}]
      - map: '{"order_no": id, "qty": $sum(lines.qty)}'
    deliver:
      - {system: erp, table: orders, mode: upsert, key: order_no}
      - {system: crm, path: /orders}
    tests:
      - name: small order
        given: {id: A1, lines: [{qty: 2}, {qty: 3}]}
        expect: {order_no: A1, qty: 5}
        expect_steps: {"0": {id: A1, lines: [{qty: 2}, {qty: 3}]}, map: {order_no: A1, qty: 5}}
        expect_deliveries: {erp: [{order_no: A1, qty: 5}], crm: [{order_no: A1, qty: 5}]}
      - name: no lines
        given: {id: A2}
        expect_exception: ValidationFailed
      - name: big order
        given: {id: A3, lines: [{qty: 1}, {qty: 1}, {qty: 1}]}
        expect_routed: big
        expect: [{sku: null}, {sku: null}, {sku: null}]
  big:
    trigger: {system: shop, event: order.big}
    steps:
      - split: 'lines'
      - filter: qty > 0
      - map: '{"sku": sku ? sku : null}'
    deliver: {system: erp, table: big, mode: insert}
    tests:
      - name: zero quantities are dropped
        given: {lines: [{qty: 0}]}
        expect: null
"""


def _write(folder: Path, text: str) -> Path:
    path = folder / "hub.yaml"
    path.write_text(text)
    return path


def _results(path: Path) -> dict[str, list[str]]:
    loaded, _ = load_for_check(path)
    return {f"{r.flow}/{r.test}": r.failures + ([r.error] if r.error else []) for r in run_tests(loaded)}


def test_every_expectation_kind_passes(tmp_path: Path) -> None:
    assert _results(_write(tmp_path, CONFIG)) == {
        "orders/small order": [],
        "orders/no lines": [],
        "orders/big order": [],
        "big/zero quantities are dropped": [],
    }


def test_a_changed_mapping_fails_naming_flow_test_and_field(tmp_path: Path) -> None:
    config = _write(tmp_path, CONFIG.replace('"qty": $sum(lines.qty)', '"qty": $sum(lines.qty) + 1'))
    result = interlace("test", str(config))
    assert result.returncode == 1
    assert "flow 'orders', test 'small order': delivered body differs at qty: expected 5, got 6" in result.stdout
    assert "step 2 (map) output differs at qty: expected 5, got 6" in result.stdout
    assert "delivery to 'crm' differs at [0].qty: expected 5, got 6" in result.stdout
    assert "FAIL  orders :: small order" in result.stdout and "ok    orders :: no lines" in result.stdout


def test_wrong_exception_and_missing_route_are_failures(tmp_path: Path) -> None:
    text = CONFIG.replace("expect_exception: ValidationFailed", "expect_exception: timeout").replace(
        "expect_routed: big", "expect_routed: huge"
    )
    results = _results(_write(tmp_path, text))
    assert results["orders/no lines"] == [
        "expected an exception containing 'timeout', got ValidationFailed: does not match entity 'order': "
        "(body): 'lines' is a required property"
    ]
    assert results["orders/big order"] == ["expected a route to 'huge', got big"]


def test_an_unexpected_exception_fails_the_test(tmp_path: Path) -> None:
    text = CONFIG.replace("given: {id: A1, lines: [{qty: 2}, {qty: 3}]}", "given: {id: A1}")
    failures = _results(_write(tmp_path, text))["orders/small order"]
    assert failures == [
        "raised ValidationFailed: does not match entity 'order': (body): 'lines' is a required property"
    ]


def test_junit_report(tmp_path: Path) -> None:
    config = _write(tmp_path, CONFIG.replace("expect: null", "expect: {sku: x}"))
    report = tmp_path / "junit.xml"
    result = interlace("test", str(config), "--junit", str(report))
    assert result.returncode == 1
    root = ET.fromstring(report.read_text())
    assert root.get("tests") == "4" and root.get("failures") == "1"
    failure = root.find("./testsuite[@name='big']/testcase[@name='zero quantities are dropped']/failure")
    assert failure is not None
    assert failure.get("message") == (
        'expected a delivery of {"sku": "x"}, but nothing was delivered (dropped: filter \'qty > 0\' is false)'
    )


def test_quickstart_tests_pass_without_network_or_files(tmp_path: Path) -> None:
    folder = tmp_path / "qs"
    shutil.copytree(QUICKSTART, folder, ignore=shutil.ignore_patterns("*.db*", ".interlace"))
    result = interlace("test", str(folder / "hub.yaml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 test(s), 0 failed" in result.stdout
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        p.name
        for p in QUICKSTART.iterdir()
        if not p.name.endswith(("db", "db-shm", "db-wal")) and p.name != ".interlace"
    )


def test_a_route_loop_stops_and_fails(tmp_path: Path) -> None:
    text = CONFIG.replace("route: [{when: '$count(lines) > 2', to: big}]", "route: [{default: orders}]")
    assert _results(_write(tmp_path, text))["orders/no lines"] == []  # refused before the route
    failures = _results(_write(tmp_path, text))["orders/small order"]
    assert failures[0] == "stopped after 1000 messages: do routes send messages round in a loop?"
