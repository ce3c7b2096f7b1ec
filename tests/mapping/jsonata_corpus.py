"""Generated JSONata expressions and documents (hypothesis strategies) for differential tests.

The expressions are built from a small grammar over the same few field names the documents use,
so paths mostly find something; numbers are small and exact in binary so that both engines
compute the same floats.
"""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import strategies as st

NAMES = ["a", "b", "c", "items", "name"]

scalars = st.one_of(
    st.integers(-20, 20),
    st.sampled_from([0.5, 2.25, -3.75, 10.0, 1e3]),
    st.sampled_from(["", "x", "Ab c", "10", "héllo"]),
    st.booleans(),
    st.none(),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(NAMES), inner, max_size=4),
    ),
    max_leaves=14,
)
objects = st.dictionaries(st.sampled_from(NAMES), documents, min_size=1, max_size=5)

_literals = st.one_of(
    st.integers(-5, 10).map(str),
    st.sampled_from(["0.5", "2.25", "1e2"]),
    st.sampled_from(['"x"', '"Ab c"', '""', '"10"']),
    st.sampled_from(["true", "false", "null"]),
)
_names = st.sampled_from(NAMES)
_paths = st.lists(_names, min_size=1, max_size=3).map(".".join)
_atoms = st.one_of(_literals, _paths, st.sampled_from(["$", "$$", "*", "$$.a", "$.b"]))

_UNARY_FUNCTIONS = ["sum", "count", "max", "min", "average", "string", "length", "uppercase", "lowercase",
                    "trim", "number", "abs", "floor", "ceil", "round", "boolean", "not", "exists", "keys",
                    "reverse", "distinct", "type", "spread"]  # fmt: skip
_BINARY_FUNCTIONS = ["substring", "substringBefore", "substringAfter", "contains", "split", "join", "round",
                     "pad", "append", "lookup", "power"]  # fmt: skip
_OPERATORS = ["+", "-", "*", "/", "%", "=", "!=", "<", "<=", ">", ">=", "and", "or", "&", "in"]


def _extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(inner, st.sampled_from(_OPERATORS), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(_UNARY_FUNCTIONS), inner).map(lambda t: f"${t[0]}({t[1]})"),
        st.tuples(st.sampled_from(_BINARY_FUNCTIONS), inner, inner).map(lambda t: f"${t[0]}({t[1]}, {t[2]})"),
        st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} ? {t[1]} : {t[2]})"),
        st.tuples(_paths, inner).map(lambda t: f"{t[0]}[{t[1]}]"),
        st.tuples(_paths, st.integers(-2, 2)).map(lambda t: f"{t[0]}[{t[1]}]"),
        st.tuples(_paths, inner).map(lambda t: f"{t[0]}.({t[1]})"),
        st.tuples(_paths, _names).map(lambda t: f"{t[0]}[].{t[1]}"),
        st.lists(inner, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
        st.tuples(_names, inner, _names, inner).map(lambda t: f'{{"{t[0]}": {t[1]}, "k{t[2]}": {t[3]}}}'),
        st.tuples(inner, inner).map(lambda t: f"($v := {t[0]}; [$v, {t[1]}, $v])"),
        st.tuples(_paths, inner).map(lambda t: f'{t[0]}{{"g": {t[1]}}}'),
        st.tuples(inner, inner).map(lambda t: f"({t[0]} ?: {t[1]})"),
        st.tuples(inner, inner).map(lambda t: f"({t[0]} ?? {t[1]})"),
        st.tuples(st.integers(-2, 3), st.integers(-2, 5)).map(lambda t: f"[{t[0]}..{t[1]}]"),
        inner.map(lambda x: f"-({x})"),
        st.tuples(_paths, inner).map(lambda t: f"$map({t[0]}, function($v, $i){{[$v, $i, {t[1]}]}})"),
        st.tuples(_paths, inner).map(lambda t: f"$filter({t[0]}, function($v){{{t[1]}}})"),
        st.tuples(_paths, st.integers(-3, 3)).map(lambda t: f"$reduce({t[0]}, function($a, $b){{$a + $b}}, {t[1]})"),
        _paths.map(lambda p: f"$sort({p}, function($l, $r){{$l > $r}})"),
        st.tuples(inner, inner).map(lambda t: f"($f := function($x){{{t[0]}}}; $f({t[1]}))"),
        inner.map(lambda x: f"{x} ~> $string()"),
        st.tuples(inner, st.sampled_from(["/a/", "/[a-c]+/i", "/(b)(c)?/", "/ /", "/^A/m", "/c$/"])).flatmap(
            lambda t: st.sampled_from(
                [
                    f"$match($string({t[0]}), {t[1]})",
                    f'$replace($string({t[0]}), {t[1]}, "<$0$1>")',
                    f"$split($string({t[0]}), {t[1]})",
                    f"$contains($string({t[0]}), {t[1]})",
                ]
            )
        ),
        inner.map(lambda x: f"**.{x}" if x.isidentifier() else f"({x})"),
    )


expressions = st.recursive(_atoms, _extend, max_leaves=8)


def same(a: Any, b: Any) -> bool:
    """Equality of JSON values as the conformance runner judges it: numbers by value, booleans never
    numbers, arrays in order, objects by key."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
            return True
        return a == b
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return False


def show(value: Any) -> str:
    return json.dumps(value, default=repr)
