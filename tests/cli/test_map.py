"""`interlace map`: a flow's mapping evaluated against a sample from the command line."""

from __future__ import annotations

import json

from support import QUICKSTART, interlace

CONFIG = str(QUICKSTART / "hub.yaml")
FLOW = "order-to-erp-and-crm"


def test_the_flows_map_on_a_sample_file() -> None:
    result = interlace("map", CONFIG, FLOW, "--data", f"@{QUICKSTART / 'order.json'}")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "order_no": "A-1001",
        "email": "ann@example.test",
        "customer_name": "Ann Lee",
        "total": 21,
        "line_count": 2,
    }
    assert "steps.1.map: compiled" in result.stderr


def test_without_data_the_flows_first_test_sample_is_used() -> None:
    result = interlace("map", CONFIG, FLOW)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["order_no"] == "A1"


def test_an_expression_and_inline_data() -> None:
    result = interlace("map", CONFIG, FLOW, "--expr", "$message.event & ':' & id", "--data", '{"id": "X"}')
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == "order.created:X"


def test_an_evaluation_error_shows_where_it_is() -> None:
    result = interlace("map", CONFIG, FLOW, "--expr", '{"x": id + 1}', "--data", '{"id": "X"}')
    assert result.returncode == 1
    assert "T2001" in result.stderr and "(at position 10)" in result.stderr
    lines = result.stderr.splitlines()
    assert lines[-2].strip() == '{"x": id + 1}' and lines[-1].index("^") == lines[-2].index("+")


def test_a_syntax_error_shows_where_it_is() -> None:
    result = interlace("map", CONFIG, FLOW, "--expr", '{"x": (id + }')
    assert result.returncode == 1
    assert "invalid JSONata: S0211" in result.stderr and "^" in result.stderr


def test_a_fallback_expression_says_which_engine_and_why() -> None:
    result = interlace("map", CONFIG, FLOW, "--expr", '$eval("1 + 1")', "--data", "{}")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == 2
    assert "--expr: jsonatapy (the function $eval" in result.stderr


def test_an_unknown_flow_is_a_usage_error() -> None:
    result = interlace("map", CONFIG, "nope", "--data", "{}")
    assert result.returncode == 2 and "no flow named 'nope'" in result.stderr
