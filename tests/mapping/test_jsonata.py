"""Unit tests of the JSONata wrapper (interlace.mapping.jsonata)."""

from __future__ import annotations

import time

import pytest

from interlace.errors import MappingError, StepError
from interlace.mapping.jsonata import DEFAULT_TIMEOUT_MS, Expression, compile_expression

ORDER = {
    "id": "A1",
    "customer": {"email": "a@x.test"},
    "lines": [{"sku": "P-1", "qty": 2, "price": 5}, {"sku": "P-2", "qty": 1, "price": 2.5}],
}


def test_maps_an_order() -> None:
    expr = Expression('{"order_no": id, "email": customer.email, "total": $sum(lines.(qty * price))}')
    assert expr.evaluate(ORDER) == {"order_no": "A1", "email": "a@x.test", "total": 12.5}


def test_compile_error_is_a_mapping_error_with_the_parser_message() -> None:
    with pytest.raises(MappingError, match=r"invalid JSONata: .*S0211") as info:
        Expression('{"a": (1 + }')
    assert "cannot be used as a unary operator" in str(info.value)
    assert isinstance(info.value, StepError)  # bad mappings are not retried


def test_compile_error_through_the_cache_is_raised_each_time() -> None:
    for _ in range(2):
        with pytest.raises(MappingError, match="invalid JSONata"):
            compile_expression("$sum(")


def test_evaluation_error_is_a_mapping_error_with_the_code() -> None:
    with pytest.raises(MappingError, match=r"JSONata evaluation failed: .*T1006"):
        Expression("$nope()").evaluate({})
    with pytest.raises(MappingError, match="T2001"):
        Expression('"a" + 1').evaluate({})


def test_undefined_yields_none() -> None:
    assert Expression("missing.field").evaluate(ORDER) is None
    assert Expression("lines[qty > 100]").evaluate(ORDER) is None


def test_falsy_values_are_kept() -> None:
    assert Expression("false").evaluate({}) is False
    assert Expression("0").evaluate({}) == 0
    assert Expression('""').evaluate({}) == ""
    assert Expression("[]").evaluate({}) == []


def test_bindings_are_variables() -> None:
    expr = Expression("$message.event & ':' & id & ':' & $string($limit)")
    bindings = {"message": {"event": "order.created"}, "limit": 10}
    assert expr.evaluate(ORDER, bindings) == "order.created:A1:10"
    assert Expression("$absent").evaluate(ORDER, {}) is None


def test_non_json_input_is_a_mapping_error() -> None:
    with pytest.raises(MappingError):
        Expression("a").evaluate({"a": object()})


def test_out_of_range_integer_binding_is_a_mapping_error() -> None:
    # jsonatapy raises a bare OverflowError for this; the wrapper must still say MappingError.
    with pytest.raises(MappingError, match="too big"):
        Expression("$x").evaluate({}, {"x": 10**30})


@pytest.mark.parametrize(
    "source",
    [
        "($f := function(){$f()}; $f())",  # unbounded recursion
        "($loop := function($n){$loop($n + 1)}; $loop(0))",  # tail call: an infinite loop
    ],
)
def test_time_limit_stops_runaway_expressions_quickly(source: str) -> None:
    expr = Expression(source, timeout_ms=200)
    started = time.perf_counter()
    with pytest.raises(MappingError, match=r"D1012|D1011"):
        expr.evaluate({})
    assert time.perf_counter() - started < 5


def test_default_time_limit_applies_to_cached_expressions() -> None:
    expr = compile_expression("($loop := function($n){$loop($n + 1)}; $loop(0))")
    assert expr.timeout_ms == DEFAULT_TIMEOUT_MS
    started = time.perf_counter()
    with pytest.raises(MappingError, match="D1012"):
        expr.evaluate({})
    assert time.perf_counter() - started < DEFAULT_TIMEOUT_MS / 1000 + 5


def test_deep_recursion_is_stopped_by_the_depth_limit() -> None:
    expr = Expression("($f := function($n){$n = 0 ? 0 : 1 + $f($n - 1)}; $f(100000))", timeout_ms=5000)
    with pytest.raises(MappingError, match="D1011"):
        expr.evaluate({})


def test_cache_returns_the_same_object() -> None:
    source = '{"order_no": id}'
    first = compile_expression(source)
    assert compile_expression(source) is first
    assert compile_expression('{"order_no": id }') is not first
    assert first.evaluate(ORDER) == {"order_no": "A1"}


def test_repr_shows_the_source() -> None:
    assert repr(Expression("id")) == "Expression('id')"
