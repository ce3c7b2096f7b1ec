"""The compiled path: which engine runs an expression, the sandbox limits in compiled code, errors
with positions, and what the steps skip per message."""

from __future__ import annotations

import time

import pytest

from interlace.engine.steps import Map
from interlace.errors import MappingError
from interlace.mapping.jsonata import Expression
from interlace.message import Message

ORDER = {"id": "A1", "customer": {"email": "a@x.test"}, "lines": [{"qty": 2, "price": 5}, {"qty": 1, "price": 2.5}]}


def test_common_expressions_are_compiled() -> None:
    for source in (
        '{"order_no": id, "email": customer.email, "total": $sum(lines.(qty * price))}',
        "lines[qty > 1].price",
        '$substring($string(id), 0, 1) & "-" & $uppercase(customer.email)',
        '($total := $sum(lines.price); $total > 5 ? "big" : "small")',
        "lines{`qty`: price}",
    ):
        expression = Expression(source)
        assert expression.engine == "compiled", (source, expression.fallback)
        assert expression.fallback is None


def test_an_unhandled_construct_falls_back_and_says_which() -> None:
    expression = Expression('$formatNumber($sum(lines.price), "#,##0.00")')
    assert expression.engine == "jsonatapy"
    assert expression.fallback is not None and "$formatNumber" in expression.fallback
    assert expression.evaluate(ORDER) == "7.50"


def test_regular_expressions_are_compiled() -> None:
    expression = Expression('$replace(customer.email, /(\\w)@/, "$1 at ") & $join($match("a1b22", /\\d+/).match, ",")')
    assert expression.engine == "compiled", expression.fallback
    assert expression.evaluate(ORDER) == "a at x.test1,22"


def test_range_size_limit_in_compiled_code() -> None:
    expression = Expression("$count([1..10000001])")
    assert expression.engine == "compiled"
    started = time.perf_counter()
    with pytest.raises(MappingError, match="D2014"):
        expression.evaluate({})
    assert time.perf_counter() - started < 1


def test_time_limit_in_compiled_code() -> None:
    expression = Expression("$count([1..10000000].[1..10000000])", timeout_ms=200)
    assert expression.engine == "compiled"
    started = time.perf_counter()
    with pytest.raises(MappingError, match="D1012"):
        expression.evaluate({})
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize(
    "source",
    [
        "($inf := function(){$inf()}; $inf())",  # unbounded recursion, a tail call: runs in a loop
        "($loop := function($n){$loop($n + 1)}; $loop(0))",
        "($f := function($n){[1..1000].$f($n)}; $f(0))",  # work that fans out
    ],
)
def test_runaway_expressions_stop_at_the_time_limit_in_compiled_code(source: str) -> None:
    expression = Expression(source, timeout_ms=200)
    assert expression.engine == "compiled"
    started = time.perf_counter()
    with pytest.raises(MappingError, match=r"D1012|D1011"):
        expression.evaluate({})
    assert time.perf_counter() - started < 5


def test_deep_recursion_stops_at_the_depth_limit_in_compiled_code() -> None:
    expression = Expression("($f := function($n){$n = 0 ? 0 : 1 + $f($n - 1)}; $f(100000))", timeout_ms=5000)
    assert expression.engine == "compiled"
    with pytest.raises(MappingError, match="D1011"):
        expression.evaluate({})
    # the same depth as the reference: 65 nested calls are fine, 66 are too many
    assert Expression("($f := function($n){$n = 0 ? 0 : 1 + $f($n - 1)}; $f(65))").evaluate({}) == 65
    with pytest.raises(MappingError, match="D1011"):
        Expression("($f := function($n){$n = 0 ? 0 : 1 + $f($n - 1)}; $f(66))").evaluate({})


def test_tail_recursion_runs_in_constant_depth() -> None:
    source = "($count := function($n, $acc){$n = 0 ? $acc : $count($n - 1, $acc + 1)}; $count(5000, 0))"
    assert Expression(source).evaluate({}) == 5000


def test_evaluation_errors_carry_code_and_position() -> None:
    with pytest.raises(MappingError) as info:
        Expression('{"x": id + 1}').evaluate(ORDER)
    assert info.value.code == "T2001" and info.value.position == 10
    assert str(info.value).startswith("JSONata evaluation failed: T2001: The left side of the + operator")


def test_a_binding_that_shadows_a_builtin_goes_to_the_reference() -> None:
    expression = Expression("$sum([1, 2])")
    assert expression.evaluate({}) == 3
    with pytest.raises(MappingError, match="T1006"):
        expression.evaluate({}, {"sum": 5})


def test_integral_results_come_out_as_int_like_jsonatapy() -> None:
    assert Expression("$sum([1.5, 2.5])").evaluate({}) == 4
    assert type(Expression("$sum([1.5, 2.5])").evaluate({})) is int
    assert type(Expression('{"t": 2.5 * 2}').evaluate({})["t"]) is int


def test_results_are_plain_json() -> None:
    value = Expression('{"skus": lines.qty, "one": lines[0].qty, "all": lines}').evaluate(ORDER)
    assert value == {"skus": [2, 1], "one": 2, "all": ORDER["lines"]}
    assert type(value["skus"]) is list


def test_the_map_step_builds_no_bindings_when_message_is_not_read() -> None:
    message = Message(flow="f", body=ORDER, event="order.created")
    plain = Map('{"order_no": id}')
    assert plain.apply.__name__ == "_step"  # compiled: body to outcome in one generated function
    assert plain.apply(message).body == {"order_no": "A1"}  # type: ignore[union-attr]
    other = Map('{"n": $formatNumber(1234.5, "#,##0.00")}')  # a built-in the compiler does not have
    assert other.expression.engine == "jsonatapy" and other.apply.__name__ == "_apply_body"
    assert other.apply(message).body == {"n": "1,234.50"}  # type: ignore[union-attr]
    reads = Map('{"order_no": id, "event": $message.event}')
    assert reads.apply.__name__ == "_apply_bindings"
    assert reads.apply(message).body == {"order_no": "A1", "event": "order.created"}  # type: ignore[union-attr]


# the fast paths of the compiled code (an object context read directly, the comprehension tried
# over objects that have every field, built-ins inline) against the reference on the data that
# sends each of them back to the general code
_SHAPES = [
    ORDER,
    {"lines": [{"qty": 2, "price": 5}, {"price": 3}, {"qty": 1, "price": 2.5}]},  # a field missing
    {"lines": [{"qty": 2, "price": 5}, 7, [{"qty": 1, "price": 1}], "x"]},  # items not objects
    {"lines": {"qty": 3, "price": 1.5}},  # one line, not an array
    {"lines": []},
    {"lines": [{"qty": 2, "price": "5"}]},  # a string: an error
    {"lines": [{"price": 1}, {"qty": True, "price": 2}]},  # a boolean after a missing field: an error
    {"lines": [{"qty": 2**40, "price": 2**20}]},  # an int product past 2**53
    {"lines": [[{"qty": 1, "price": 2}], {"qty": 3, "price": 4}]},
    {"lines": None, "customer": [{"email": "A@X"}, {"email": "B@Y"}]},
    {"customer": {"email": 5}, "id": 2.0, "n": {"x": 1.0, "y": [2.0, 3.5]}},
    [ORDER, ORDER],
    "text",
    None,
]
_FAST = [
    '{"order_no": id, "email": customer.email, "total": $sum(lines.(qty * price))}',
    '{"total": $round($sum(lines.(qty * price)), 2), "n": $count(lines), "e": $lowercase(customer.email)}',
    "lines.(qty * price)",
    'lines.(qty & "x" & price)',
    "lines.(qty > price)",
    "lines.(-qty / price)",
    "lines^(price).qty",
    "lines.qty",
    '{"n": n, "id": id, "x": n.x}',
    "$string(id) & $uppercase(customer.email) & $length(customer.email)",
    "$boolean(lines) and $count(customer) > 1",
]


class _NoReference:
    def evaluate(self, *args: object, **kwargs: object) -> object:
        raise AssertionError("the compiled code gave up and asked jsonatapy")


@pytest.mark.parametrize("source", _FAST)
def test_the_fast_paths_agree_with_the_reference(source: str) -> None:
    expression = Expression(source)
    assert expression.engine == "compiled", expression.fallback
    expression._compiled = _NoReference()  # every answer below is the compiled code's own
    reference = Expression(source, compiled=False)
    for data in _SHAPES:
        try:
            mine: tuple[str, object] = ("value", expression.evaluate_data(data))
        except MappingError as exc:
            assert exc.code is not None, exc  # a JSONata error of the compiled code
            mine = ("error", None)
        try:
            theirs: tuple[str, object] = ("value", reference.evaluate(data))
        except MappingError:
            theirs = ("error", None)
        assert mine == theirs, (source, data)
        if mine[0] == "value":
            assert expression.evaluate(data) == mine[1]


def test_a_failure_in_the_step_function_is_the_same_error() -> None:
    message = Message(flow="f", body={"id": "A1", "lines": [{"qty": "2", "price": 5}]})
    step = Map('{"total": $sum(lines.(qty * price))}')
    with pytest.raises(MappingError) as info:
        step.apply(message)
    assert info.value.code == "T2001" and info.value.position == 27
    deep = Map('($f := function($n){ $n = 0 ? 0 : 1 + $f($n - 1) }; {"d": $f(n)})')
    with pytest.raises(MappingError, match=r"D1011|Stack overflow"):
        deep.apply(Message(flow="f", body={"n": 100000}))


def test_route_rules_run_in_turn_each_with_its_own_errors() -> None:
    from interlace.engine.steps import Continue, Route, RouteTo, condition

    step = RouteTo([(condition("total > 100"), "big"), (condition("total > n"), "more")], None)
    assert step.apply.__name__ == "_step"
    assert step.apply(Message(flow="f", body={"total": 200})) == Route("big")
    assert step.apply(Message(flow="f", body={"total": 20, "n": 10})) == Route("more")
    assert step.apply(Message(flow="f", body={"total": 5, "n": 10})) == Continue({"total": 5, "n": 10})
    with pytest.raises(MappingError) as info:  # the second rule's error, not the first's
        step.apply(Message(flow="f", body={"total": 20, "n": "x"}))
    assert info.value.code == "T2009"
    with pytest.raises(MappingError) as info:
        step.apply(Message(flow="f", body={"total": "x"}))
    assert info.value.code == "T2009"
    routed = RouteTo([(condition("total > 100"), "big")], "small")
    assert routed.apply(Message(flow="f", body={"total": 1})) == Route("small")


def test_round_agrees_with_the_reference_near_and_away_from_halves() -> None:
    values = [2.675, 1.005, -2.675, 98.27, 0.125, 0.375, -0.5, 2.5, 3.5, 1e-7, 123456.785, 0.1 + 0.2, 5e8 + 0.5]
    values += [round(i / 1000 + 0.0005, 4) for i in range(-2000, 2000, 37)]  # halves at 3 places
    expression = Expression("[$round(a, 0), $round(a, 1), $round(a, 2), $round(a, 3), $round(a, 7)]")
    assert expression.engine == "compiled"
    for value in values:
        assert expression.evaluate({"a": value}) == expression.reference()({"a": value}, None), value
