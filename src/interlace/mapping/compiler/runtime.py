"""The values and helpers compiled expressions run on.

JSONata's data model in Python: JSON values as they come (dict, list, str, int, float, bool, None
for null), `U` for *undefined* (no value), `Seq` for a sequence (a list the language flattens and
unwraps when it holds one item), `Cons` for an array an array constructor built at the end of a
path (kept as one value, not flattened). Functions are `Function` objects.

Every evaluation gets a `State`: the root input, the bindings, the deadline and the call depth.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from decimal import Decimal
from time import perf_counter
from typing import Any

from interlace.mapping.compiler.errors import JsonataError

MAX_RANGE = 10_000_000
CALL_DEPTH = 3
"""What a nested call of a lambda counts toward the depth limit: jsonatapy counts the frames of its
evaluator, three for a plain recursive call, so the same recursion stops at the same depth."""
INT_LIMIT = 2**63  # integral floats below this come out as int, as jsonatapy gives them


class _Undefined:
    __slots__ = ()

    def __repr__(self) -> str:
        return "undefined"

    def __bool__(self) -> bool:
        return False


U: Any = _Undefined()


class Seq(list):  # type: ignore[type-arg]
    """A sequence: flattened into paths, unwrapped when it has one item (unless `keep`)."""

    keep = False
    outer = False


class Cons(list):  # type: ignore[type-arg]
    """An array built by an array constructor at the first or last step of a path."""


class Function:
    """A JSONata function value: a built-in, a lambda, or a partial application."""

    __slots__ = ("arity", "call", "name", "signature")

    def __init__(self, name: str, call: Callable[..., Any], arity: int, signature: Any = None) -> None:
        self.name = name
        self.call = call  # call(args: list, context, state) -> value
        self.arity = arity
        self.signature = signature

    def __repr__(self) -> str:
        return f"Function({self.name})"


class Limits:
    """An expression's sandbox limits."""

    __slots__ = ("max_depth", "timeout_ms")

    def __init__(self, timeout_ms: int, max_depth: int) -> None:
        self.timeout_ms = timeout_ms
        self.max_depth = max_depth


class State:
    """One evaluation's state: the input, the bindings, and the clock and call depth of the sandbox
    (the clock is started only for expressions that can run long: calls, ranges)."""

    __slots__ = ("bindings", "deadline", "depth", "limits", "root", "work")

    def __init__(self, root: Any, bindings: dict[str, Any], limits: Limits) -> None:
        self.root = root
        self.bindings = bindings
        self.limits = limits
        self.deadline = 0.0
        self.depth = 0
        self.work = 0

    def tick(self, amount: int = 1) -> None:
        """Count work done; every so often look at the clock (started by `start`)."""
        self.work += amount
        if self.work > 2048:
            self.work = 0
            if perf_counter() > self.deadline:
                raise timeout(self.limits.timeout_ms)

    def start(self) -> None:
        self.deadline = perf_counter() + self.limits.timeout_ms / 1000


def timeout(ms: int) -> JsonataError:
    return JsonataError("D1012", f"Evaluation timeout after {ms} milliseconds. Check for infinite loop")


def stack_overflow() -> JsonataError:
    return JsonataError(
        "D1011",
        "Stack overflow. Check for non-terminating recursive function. Consider rewriting as tail-recursive",
    )


# ------------------------------------------------------------------------------------- sequences


def seq(*items: Any) -> Seq:
    s = Seq()
    s.extend(items)
    return s


def collapse(v: Any) -> Any:
    """What `evaluate` does with a sequence it is about to return."""
    if type(v) is Seq:
        n = len(v)
        if n == 0:
            return U
        if n == 1 and not v.keep:
            return v[0]
    return v


def keep(v: Any) -> Any:
    """A node marked `[]`: its sequence keeps a single item as an array."""
    if type(v) is Seq:
        v.keep = True
    return v


def collapse_keep(v: Any) -> Any:
    if type(v) is Seq:
        v.keep = True
        if not v:
            return U
    return v


def lookup(v: Any, key: str) -> Any:
    """A field of an object, or of every object in an array (flattened)."""
    if type(v) is dict:
        return v.get(key, U)
    if isinstance(v, list):
        out = Seq()
        for item in v:
            r = lookup(item, key)
            if r is not U:
                if isinstance(r, list):
                    out.extend(r)
                else:
                    out.append(r)
        return out
    return U


def lookup_c(v: Any, key: str) -> Any:
    """`lookup` as a step evaluates it (the sequence collapsed)."""
    if type(v) is dict:
        return v.get(key, U)
    if isinstance(v, list):
        return collapse(lookup(v, key))
    return U


def flatten_into(out: list[Any], v: Any) -> None:
    """Add a step's value to the next input sequence (arrays spread, constructed arrays kept)."""
    if isinstance(v, list) and type(v) is not Cons:
        out.extend(v)
    else:
        out.append(v)


def last_step(results: list[Any]) -> Any:
    """The value of a path's last step from the step's values per input item."""
    if len(results) == 1:
        r = results[0]
        if isinstance(r, list) and type(r) is not Seq:
            return r
    out = Seq()
    for v in results:
        if isinstance(v, list) and type(v) is not Cons:
            out.extend(v)
        else:
            out.append(v)
    return out


def deep_flatten(v: Any, out: list[Any]) -> list[Any]:
    if isinstance(v, list):
        for item in v:
            deep_flatten(item, out)
    else:
        out.append(v)
    return out


def wildcard(v: Any) -> Any:
    if type(v) is Seq and v.outer and v:
        v = v[0]
    results: list[Any] = Seq()
    if type(v) is dict:
        items = list(v.values())
    elif isinstance(v, list):
        items = list(v)
    else:
        return results
    for value in items:
        if isinstance(value, list):
            results = append(results, deep_flatten(value, []))
        else:
            results.append(value)
    return results


def descendants(v: Any) -> Any:
    if v is U:
        return U
    out = Seq()
    _descend(v, out)
    return out[0] if len(out) == 1 else out


def _descend(v: Any, out: list[Any]) -> None:
    if isinstance(v, list):
        for item in v:
            _descend(item, out)
        return
    out.append(v)
    if type(v) is dict:
        for item in v.values():
            _descend(item, out)


def append(a: Any, b: Any) -> Any:
    """$append: one array of both (a value counts as an array of one)."""
    if a is U:
        return b
    if b is U:
        return a
    if not isinstance(a, list):
        a = seq(a)
    if not isinstance(b, list):
        b = [b]
    return [*a, *b]


def dollar(c: Any) -> Any:
    """`$`: the context (the outer wrapper of a top-level array input removed)."""
    if type(c) is Seq and c.outer:
        return c[0]
    return c


def wrap_input(data: Any) -> Any:
    """The top-level input as the reference wraps it: an array becomes a one-item sequence."""
    if isinstance(data, list) and type(data) is not Seq:
        s = seq(data)
        s.outer = True
        return s
    return data


# ------------------------------------------------------------------------------------- truth


def boolean(v: Any) -> Any:
    """JSONata truthiness ($boolean); undefined stays undefined."""
    t = type(v)
    if t is bool:
        return v
    if t is str:
        return v != ""
    if t is int or t is float:
        return v != 0
    if v is None:
        return False
    if v is U:
        return U
    if isinstance(v, list):
        if len(v) == 1:
            return boolean(v[0])
        return any(boolean(x) is True for x in v)
    if t is dict:
        return len(v) > 0
    if t is Decimal:
        return v != 0
    return False


def truthy(v: Any) -> bool:
    return boolean(v) is True


# ------------------------------------------------------------------------------------- operators


def is_number(v: Any) -> bool:
    t = type(v)
    return t is int or t is float


def _num(v: Any) -> Any:
    if type(v) is Decimal:
        return float(v)
    return v


def _check_operands(op: str, a: Any, b: Any) -> tuple[Any, Any]:
    a, b = _num(a), _num(b)
    if (type(a) is float and not math.isfinite(a)) or (type(b) is float and not math.isfinite(b)):
        raise JsonataError("D1001", "Number out of range")
    if a is not U and not is_number(a):
        raise JsonataError("T2001", f"The left side of the {op} operator must evaluate to a number")
    if b is not U and not is_number(b):
        raise JsonataError("T2002", f"The right side of the {op} operator must evaluate to a number")
    return a, b


def add(a: Any, b: Any) -> Any:
    a, b = _check_operands("+", a, b)
    if a is U or b is U:
        return U
    return a + b


def sub(a: Any, b: Any) -> Any:
    a, b = _check_operands("-", a, b)
    if a is U or b is U:
        return U
    return a - b


def mul(a: Any, b: Any) -> Any:
    a, b = _check_operands("*", a, b)
    if a is U or b is U:
        return U
    r = a * b
    return float(r) if type(r) is int and not -(2**53) <= r <= 2**53 else r


def div(a: Any, b: Any) -> Any:
    a, b = _check_operands("/", a, b)
    if a is U or b is U:
        return U
    try:
        return a / b
    except ZeroDivisionError:
        if a == 0 or a != a:
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    except OverflowError:
        return float(a) / float(b)


def mod(a: Any, b: Any) -> Any:
    a, b = _check_operands("%", a, b)
    if a is U or b is U:
        return U
    if b == 0:
        return math.nan
    if type(a) is int and type(b) is int:
        r = abs(a) % abs(b)
        return -r if a < 0 else r
    return math.fmod(a, b)


def neg(v: Any) -> Any:
    v = _num(v)
    if v is U:
        return U
    if not is_number(v):
        raise JsonataError("D1002", f"Cannot negate a non-numeric value: {show(v)}")
    return -v


def equal(a: Any, b: Any) -> bool:
    if a is U or b is U:
        return False
    return deep_equal(a, b)


def not_equal(a: Any, b: Any) -> bool:
    if a is U or b is U:
        return False
    return not deep_equal(a, b)


def deep_equal(a: Any, b: Any) -> bool:
    ta, tb = type(a), type(b)
    if ta is bool or tb is bool:
        return ta is tb and a == b
    if (ta is int or ta is float) and (tb is int or tb is float):
        return bool(a == b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(deep_equal(x, y) for x, y in zip(a, b, strict=True))
    if ta is dict and tb is dict:
        return a.keys() == b.keys() and all(deep_equal(a[k], b[k]) for k in a)
    if ta is str and tb is str:
        return bool(a == b)
    if a is None and b is None:
        return True
    if ta is Decimal or tb is Decimal:
        return deep_equal(_num(a), _num(b))
    return a is b


def _comparable(op: str, a: Any, b: Any) -> bool:
    """Whether `a op b` has a value (False when a side is undefined); raises for bad types."""
    a_ok = a is U or type(a) is str or is_number(a)
    b_ok = b is U or type(b) is str or is_number(b)
    if not a_ok or not b_ok:
        raise JsonataError(
            "T2010",
            f"The expressions either side of operator {op!r} must evaluate to numeric or string values",
        )
    if a is U or b is U:
        return False
    if (type(a) is str) != (type(b) is str):
        raise JsonataError(
            "T2009",
            f"The values {show(a)} and {show(b)} either side of operator {op!r} must be of the same data type",
        )
    return True


def lt(a: Any, b: Any) -> Any:
    a, b = _num(a), _num(b)
    return a < b if _comparable("<", a, b) else U


def le(a: Any, b: Any) -> Any:
    a, b = _num(a), _num(b)
    return a <= b if _comparable("<=", a, b) else U


def gt(a: Any, b: Any) -> Any:
    a, b = _num(a), _num(b)
    return a > b if _comparable(">", a, b) else U


def ge(a: Any, b: Any) -> Any:
    a, b = _num(a), _num(b)
    return a >= b if _comparable(">=", a, b) else U


def includes(a: Any, b: Any) -> bool:
    """`a in b`."""
    if a is U or b is U:
        return False
    if not isinstance(b, list):
        b = [b]
    return any(deep_equal(a, item) for item in b)


def concat(a: Any, b: Any) -> str:
    """`a & b`: both as strings, undefined as the empty string."""
    sa = a if type(a) is str else "" if a is U else to_string(a)
    sb = b if type(b) is str else "" if b is U else to_string(b)
    return sa + sb


def range_(a: Any, b: Any, state: State) -> Any:
    a, b = _num(a), _num(b)
    if a is not U and not _is_integer(a):
        raise JsonataError("T2003", "The left side of the range operator (..) must evaluate to an integer")
    if b is not U and not _is_integer(b):
        raise JsonataError("T2004", "The right side of the range operator (..) must evaluate to an integer")
    if a is U or b is U:
        return U
    a, b = int(a), int(b)
    if a > b:
        return U
    size = b - a + 1
    if size > MAX_RANGE:
        raise JsonataError("D2014", "Range operator results in too many elements (> 10,000,000)")
    state.tick(size)
    out = Seq()
    out.extend(range(a, b + 1))
    return out


def _is_integer(v: Any) -> bool:
    t = type(v)
    return t is int or (t is float and v.is_integer())


# ------------------------------------------------------------------------------------- strings


def format_number(v: float | int) -> str:
    """A number as JavaScript writes it (shortest round trip; exponent from 1e21 and below 1e-6)."""
    if type(v) is int and abs(v) < 10**15:
        return str(v)
    f = float(v)
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "Infinity" if f > 0 else "-Infinity"
    if f == 0:
        return "0"
    sign_bit, digit_tuple, exponent = Decimal(repr(f)).as_tuple()
    n = len(digit_tuple) + int(exponent)  # where the decimal point goes
    digits = "".join(map(str, digit_tuple)).rstrip("0")
    sign = "-" if sign_bit else ""
    k = len(digits)
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    e = n - 1
    head = digits[0] + ("." + digits[1:] if k > 1 else "")
    return sign + head + "e" + ("+" if e >= 0 else "-") + str(abs(e))


def precise(v: float | int) -> float | int:
    """`Number(v.toPrecision(15))`: how $string rounds a number before writing it (integers as they are)."""
    if isinstance(v, int) or v.is_integer():
        return v
    return float(f"{float(v):.15g}")


def to_string(v: Any, pretty: bool = False) -> Any:
    """$string of a value."""
    if v is U:
        return U
    t = type(v)
    if t is str:
        return v
    if t is int or t is float:
        if t is float and not math.isfinite(v):
            raise JsonataError("D3001", "Attempting to invoke string function on Infinity or NaN")
        return format_number(precise(v))
    if isinstance(v, Function):
        return ""
    if type(v) is Seq and v.outer:
        v = v[0]
    return _json(v, 2 if pretty else 0, 0)


def _json(v: Any, indent: int, level: int) -> str:
    t = type(v)
    if t is str:
        return json.dumps(v, ensure_ascii=False)
    if t is bool:
        return "true" if v else "false"
    if v is None:
        return "null"
    if t is int or t is float or t is Decimal:
        f = _num(v)
        if not math.isfinite(f):
            raise JsonataError("D1001", f"Number out of range: {f}")
        return format_number(precise(f))
    if isinstance(v, Function):
        return '""'
    if isinstance(v, list):
        items = [_json(x, indent, level + 1) if x is not U else "null" for x in v]
        if not items:
            return "[]"
        if indent:
            pad = "\n" + " " * (indent * (level + 1))
            return "[" + ",".join(pad + i for i in items) + "\n" + " " * (indent * level) + "]"
        return "[" + ",".join(items) + "]"
    if t is dict:
        pairs = [(k, x) for k, x in v.items() if x is not U]
        if not pairs:
            return "{}"
        sep = ": " if indent else ":"
        items = [json.dumps(str(k), ensure_ascii=False) + sep + _json(x, indent, level + 1) for k, x in pairs]
        if indent:
            pad = "\n" + " " * (indent * (level + 1))
            return "{" + ",".join(pad + i for i in items) + "\n" + " " * (indent * level) + "}"
        return "{" + ",".join(items) + "}"
    raise JsonataError("T0000", f"a {type(v).__name__} is not a JSON value")


def show(v: Any) -> str:
    try:
        return to_string(v) if type(v) is not str else json.dumps(v)
    except JsonataError:
        return repr(v)


# ------------------------------------------------------------------------------------- output


def out(v: Any) -> Any:
    """A result as plain JSON: sequences as lists, integral floats as ints, undefined as None."""
    t = type(v)
    if t is str or t is bool or t is int or v is None:
        if t is int and not -INT_LIMIT <= v < INT_LIMIT:
            raise JsonataError("T0000", "int too big to convert")
        return v
    if t is float:
        if v.is_integer() and -INT_LIMIT < v < INT_LIMIT:
            return int(v)
        return v
    if t is dict:
        return {k: out(x) for k, x in v.items() if x is not U}
    if isinstance(v, list):
        return [out(x) for x in v if x is not U]
    if v is U or isinstance(v, Function):
        return None
    if t is Decimal:
        return out(float(v))
    raise JsonataError("T0000", f"a {type(v).__name__} is not a JSON value")


def out_number(v: Any) -> Any:
    if type(v) is float and v.is_integer() and -INT_LIMIT < v < INT_LIMIT:
        return int(v)
    return out(v)


# ------------------------------------------------------------------------------------- functions


class Tail:
    """A call in tail position of a lambda's body, made by the caller's loop (so a tail-recursive
    function runs in constant stack, as the reference's thunks do)."""

    __slots__ = ("args", "context", "function")

    def __init__(self, function: Any, args: list[Any], context: Any) -> None:
        self.function = function
        self.args = args
        self.context = context


class Lambda(Function):
    """A function defined in the expression: `body(*args)` is its compiled body."""

    __slots__ = ("body", "params")

    def __init__(self, body: Callable[..., Any], params: int, signature: Any) -> None:
        super().__init__("lambda", self._call, params, signature)
        self.body = body
        self.params = params

    def arguments(self, args: list[Any], context: Any) -> list[Any]:
        if self.signature is not None:
            args = self.signature.validate(args, context)
        n = len(args)
        if n < self.params:
            return [*args, *([U] * (self.params - n))]
        if n > self.params:
            return args[: self.params]
        return args

    def _call(self, args: list[Any], context: Any, state: State) -> Any:
        state.depth += CALL_DEPTH
        if state.depth > state.limits.max_depth:
            raise stack_overflow()
        try:
            state.tick()
            result = self.body(*self.arguments(args, context))
            while type(result) is Tail:
                f = result.function
                if isinstance(f, Lambda):
                    state.tick()
                    result = f.body(*f.arguments(result.args, result.context))
                elif isinstance(f, Function):
                    result = f.call(result.args, result.context, state)
                else:
                    raise JsonataError("T1006", "Attempted to invoke a non-function")
            return result
        finally:
            state.depth -= CALL_DEPTH


class Partial(Function):
    """`$f(?, 2)`: a function waiting for the arguments marked `?`."""

    __slots__ = ("given", "target")

    def __init__(self, target: Function, given: list[Any]) -> None:
        super().__init__("partial", self._call, sum(1 for a in given if a is HOLE), None)
        self.target = target
        self.given = given

    def _call(self, args: list[Any], context: Any, state: State) -> Any:
        supplied = iter(args)
        filled = [next(supplied, U) if a is HOLE else a for a in self.given]
        return self.target.call(filled, context, state)


class _Hole:
    __slots__ = ()


HOLE: Any = _Hole()


def partial(f: Any, given: list[Any], position: int) -> Function:
    if not isinstance(f, Function):
        raise JsonataError("T1008", "Attempted to partially apply a non-function", position)
    return Partial(f, given)


def call_function(f: Any, args: list[Any], state: Any) -> Any:
    """A function called by a built-in (the context is undefined there)."""
    if not isinstance(f, Function):
        raise JsonataError("T1006", "Attempted to invoke a non-function")
    return collapse(f.call(args, U, state))
