"""The built-in function library of the compiled path ($sum, $string, $substring, ...).

Each built-in has the reference's signature, checked by `Signature`; the hot ones also have a
`fast` form for one argument of the usual type, used by compiled calls before the general path.
Built-ins not here make an expression fall back to jsonatapy (`SUPPORTED` says which are here).
"""

from __future__ import annotations

import math
import re
import urllib.parse
from collections.abc import Callable
from typing import Any

from interlace.mapping.compiler import regex
from interlace.mapping.compiler.errors import JsonataError
from interlace.mapping.compiler.runtime import (
    Cons,
    Function,
    Seq,
    State,
    U,
    append,
    boolean,
    call_function,
    collapse,
    deep_equal,
    format_number,
    lookup,
    to_string,
)
from interlace.mapping.compiler.signature import Signature

Impl = Callable[..., Any]


def _sum(arr: Any) -> Any:
    if arr is U:
        return U
    total: Any = 0
    for x in arr:
        total += x
    return total


def _count(arr: Any) -> Any:
    return 0 if arr is U else len(arr)


def _max(arr: Any) -> Any:
    if arr is U or not arr:
        return U
    return max(arr)


def _min(arr: Any) -> Any:
    if arr is U or not arr:
        return U
    return min(arr)


def _average(arr: Any) -> Any:
    if arr is U or not arr:
        return U
    return _sum(arr) / len(arr)


def _string(v: Any, pretty: Any = U) -> Any:
    return to_string(v, pretty is True)


def _int(v: Any) -> int:
    return math.trunc(v) if math.isfinite(v) else (10**18 if v > 0 else -(10**18))


def _substring(s: Any, start: Any, length: Any = U) -> Any:
    if s is U:
        return U
    n = len(s)
    start = start if type(start) is int else _int(start)
    if n + start < 0:
        start = 0
    if length is not U:
        if length <= 0:
            return ""
        end = start + length if start >= 0 else n + start + length
        end = end if type(end) is int else _int(end)
        if start < 0:
            start = max(n + start, 0)
        return s[start:end] if end > start else ""
    return s[start:]


def _substring_before(s: Any, chars: Any) -> Any:
    if s is U:
        return U
    if chars is U:
        return s
    pos = s.find(chars)
    return s[:pos] if pos > -1 else s


def _substring_after(s: Any, chars: Any) -> Any:
    if s is U:
        return U
    if chars is U:
        return s
    pos = s.find(chars)
    return s[pos + len(chars) :] if pos > -1 else s


def _lowercase(s: Any) -> Any:
    return U if s is U else s.lower()


def _uppercase(s: Any) -> Any:
    return U if s is U else s.upper()


def _length(s: Any) -> Any:
    return U if s is U else len(s)


_SPACES = re.compile(r"[ \t\n\r]+")


def _trim(s: Any) -> Any:
    if s is U:
        return U
    r = _SPACES.sub(" ", s)
    if r.startswith(" "):
        r = r[1:]
    if r.endswith(" "):
        r = r[:-1]
    return r


def _pad(s: Any, width: Any, char: Any = U) -> Any:
    if s is U:
        return U
    if char is U or char == "":
        char = " "
    size = _int(abs(width))
    missing = size - len(s)
    if missing <= 0:
        return s
    padding = (char * (missing // len(char) + 1))[:missing]
    return padding + s if width < 0 else s + padding


def _contains(s: Any, token: Any, state: Any = None) -> Any:
    if s is U or token is U:
        return U
    if type(token) is str:
        return token in s
    return regex.matches(token, s, state) is not U


def _split(s: Any, sep: Any, limit: Any = U, state: Any = None) -> Any:
    if s is U:
        return U
    if limit is not U and limit < 0:
        raise JsonataError("D3020", "Third argument of split function must evaluate to a positive number")
    if type(sep) is str:
        parts = list(s) if sep == "" else s.split(sep)
        return parts[: _int(limit)] if limit is not U else parts
    out: list[str] = []
    if limit is not U and limit <= 0:
        return out
    m = regex.matches(sep, s, state)
    if m is U:
        return [s]
    start = 0
    count = 0
    while m is not U and (limit is U or count < limit):
        out.append(s[start : m["start"]])
        start = m["end"]
        m = regex.following(m, state)
        count += 1
    if limit is U or count < limit:
        out.append(s[start:])
    return out


def _match(s: Any, pattern: Any, limit: Any = U, state: Any = None) -> Any:
    if s is U:
        return U
    if limit is not U and limit < 0:
        raise JsonataError("D3040", "Third argument of match function must evaluate to a positive number")
    out = Seq()
    if limit is not U and limit <= 0:
        return out
    m = regex.matches(pattern, s, state)
    count = 0
    while m is not U and (limit is U or count < limit):
        out.append({"match": m["match"], "index": m["start"], "groups": m["groups"]})
        m = regex.following(m, state)
        count += 1
    return out


def _substitute(replacement: str, m: dict[str, Any]) -> str:
    """A replacement string with $0 (the match) and $1.. (its groups) filled in, as the reference does."""
    groups = m["groups"]
    out = []
    position = 0
    index = replacement.find("$", position)
    while index != -1 and position < len(replacement):
        out.append(replacement[position:index])
        position = index + 1
        following = replacement[position : position + 1]
        if following == "$":
            out.append("$")
            position += 1
        elif following == "0":
            out.append(m["match"])
            position += 1
        else:
            digits = 1 if not groups else math.floor(math.log10(len(groups))) + 1
            number = _leading_int(replacement[position : position + digits])
            if digits > 1 and number is not None and number > len(groups):
                number = _leading_int(replacement[position : position + digits - 1])
            if number is not None:
                if groups and 0 < number <= len(groups):
                    out.append(groups[number - 1])
                position += len(str(number))
            else:
                out.append("$")
        index = replacement.find("$", position)
    out.append(replacement[position:])
    return "".join(out)


def _leading_int(text: str) -> int | None:
    """JavaScript's parseInt: the digits at the start, if any."""
    m = re.match(r"[0-9]+", text)
    return int(m.group(0)) if m else None


def _replace(s: Any, pattern: Any, replacement: Any, limit: Any = U, state: Any = None) -> Any:
    if s is U:
        return U
    if pattern == "":
        raise JsonataError("D3010", "Second argument of replace function cannot be an empty string")
    if limit is not U and limit < 0:
        raise JsonataError("D3011", "Fourth argument of replace function must evaluate to a positive number")
    if limit is not U and limit <= 0:
        return s
    if type(pattern) is str:
        if type(replacement) is not str:
            raise JsonataError("D3012", "Attempted to replace a matched string with a non-string value")
        count = -1 if limit is U else _int(limit)
        return s.replace(pattern, replacement, count)
    m = regex.matches(pattern, s, state)
    if m is U:
        return s
    out = []
    position = 0
    count = 0
    while m is not U and (limit is U or count < limit):
        out.append(s[position : m["start"]])
        with_ = _substitute(replacement, m) if type(replacement) is str else call_function(replacement, [m], state)
        if type(with_) is not str:
            raise JsonataError("D3012", "Attempted to replace a matched string with a non-string value")
        out.append(with_)
        position = m["start"] + len(m["match"])
        count += 1
        m = regex.following(m, state)
    out.append(s[position:])
    return "".join(out)


def _join(strs: Any, sep: Any = U) -> Any:
    if strs is U:
        return U
    return ("" if sep is U else sep).join(strs)


_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?([Ee][-+]?[0-9]+)?")
_PREFIXED = re.compile(r"0([xX][0-9A-Fa-f]+|[oO][0-7]+|[bB][01]+)")


def _number(v: Any) -> Any:
    if v is U:
        return U
    t = type(v)
    if t is int or t is float:
        return v
    if t is bool:
        return 1 if v else 0
    if t is str:
        if _DECIMAL.fullmatch(v):
            f = float(v)
            if math.isfinite(f):
                return int(f) if f.is_integer() and abs(f) < 2**53 else f
        m = _PREFIXED.fullmatch(v)
        if m:
            return int(v, 0)
    raise JsonataError("D3030", f"Unable to cast value to a number: {to_string(v) if v is not None else 'null'}")


def _floor(v: Any) -> Any:
    return U if v is U else math.floor(v)


def _ceil(v: Any) -> Any:
    return U if v is U else math.ceil(v)


def _abs(v: Any) -> Any:
    return U if v is U else abs(v)


def _sqrt(v: Any) -> Any:
    if v is U:
        return U
    if v < 0:
        raise JsonataError("D3060", f"The sqrt function cannot be applied to a negative number: {format_number(v)}")
    return math.sqrt(v)


def _power(base: Any, exp: Any) -> Any:
    if base is U:
        return U
    try:
        r = math.pow(base, exp)
    except (OverflowError, ValueError):
        r = math.inf
    if not math.isfinite(r):
        raise JsonataError(
            "D3061",
            "The power function has resulted in a value that cannot be represented as a JSON number: "
            f"base={format_number(base)}, exponent={format_number(exp)}",
        )
    return r


def _js_round(x: float) -> float:
    return math.floor(x + 0.5)


def _shift(v: float | int, places: int) -> float:
    """v times 10**places, by moving the decimal point in its shortest text (no binary rounding)."""
    mantissa, _, exp = repr(v).partition("e")
    return float(f"{mantissa}e{int(exp) + places if exp else places}")


_POWERS = [10**i for i in range(16)]
_FLOAT_POWERS = [float(p) for p in _POWERS]


def _round(v: Any, precision: Any = U) -> Any:
    """Round half to even at `precision` decimal places, as the reference does."""
    if v is U:
        return U
    p = precision if type(precision) is int else _int(precision) if precision is not U else 0
    if type(v) is float and 0 < p < 16:
        # the usual case without writing the number out: v * 10**p is within a few units of the
        # last place of the decimal shift the reference makes, so away from a half both round
        # to the same integer; an integer over an exact power of ten is correctly rounded
        x = v * _FLOAT_POWERS[p]
        if -1e9 < x < 1e9 and abs(x - math.floor(x) - 0.5) > 1e-6:
            out = math.floor(x + 0.5) / _POWERS[p]
            return 0 if out == 0 else out
    shifted = _shift(v, p) if p else v
    result = math.floor(shifted + 0.5)
    if abs(result - shifted) == 0.5 and result % 2 == 1:
        result -= 1
    if p:
        out = _shift(result, -p)
        return 0 if out == 0 else out
    return result


_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def _format_base(v: Any, radix: Any = U) -> Any:
    """The number, rounded half to even, written in base `radix` (2 to 36, default 10)."""
    if v is U:
        return U
    n = int(_round(v))
    base = 10 if radix is U else int(_round(radix))
    if not 2 <= base <= 36:
        message = f"The radix of the formatBase function must be between 2 and 36. It was given {base}"
        raise JsonataError("D3100", message)
    digits = []
    m = abs(n)
    while True:
        m, d = divmod(m, base)
        digits.append(_DIGITS[d])
        if not m:
            break
    return ("-" if n < 0 else "") + "".join(reversed(digits))


def _boolean(v: Any) -> Any:
    return boolean(v)


def _not(v: Any) -> Any:
    b = boolean(v)
    return U if b is U else not b


def _keys(v: Any) -> Any:
    out = Seq()
    if isinstance(v, list):
        seen: dict[str, bool] = {}
        for item in v:
            for k in _keys(item):
                seen[k] = True
        out.extend(seen)
    elif type(v) is dict:
        out.extend(v)
    return out


def _lookup(v: Any, key: Any) -> Any:
    return lookup(v, key)


def _exists(v: Any) -> Any:
    return v is not U


def _spread(v: Any) -> Any:
    if isinstance(v, list):
        out: Any = Seq()
        for item in v:
            out = append(out, _spread(item))
        return out
    if type(v) is dict:
        out = Seq()
        out.extend({k: x} for k, x in v.items())
        return out
    return v


def _merge(arr: Any) -> Any:
    if arr is U:
        return U
    out: dict[str, Any] = {}
    for obj in arr:
        out.update(obj)
    return out


def _reverse(arr: Any) -> Any:
    if arr is U:
        return U
    if len(arr) <= 1:
        return arr
    return list(reversed(arr))


def _error(message: Any = U) -> Any:
    raise JsonataError("D3137", message if message is not U else "$error() function evaluated")


def _assert(condition: Any, message: Any = U) -> Any:
    if condition is not True:
        raise JsonataError("D3141", message if message is not U else "$assert() statement failed")
    return U


def _type(v: Any) -> Any:
    if v is U:
        return U
    if v is None:
        return "null"
    t = type(v)
    if t is bool:
        return "boolean"
    if t is int or t is float:
        return "number"
    if t is str:
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, Function):
        return "function"
    return "object"


def _distinct(arr: Any) -> Any:
    if arr is U:
        return U
    if not isinstance(arr, list) or len(arr) <= 1:
        return arr
    out: list[Any] = Seq() if type(arr) is Seq else []
    for v in arr:
        if not any(deep_equal(v, seen) for seen in out):
            out.append(v)
    return out


def _zip(*arrays: Any) -> Any:
    length = min((len(a) if isinstance(a, list) else 0 for a in arrays), default=0)
    return [[a[i] for a in arrays] for i in range(length)]


def _url(fn: Callable[[str], str]) -> Impl:
    def convert(s: Any) -> Any:
        if s is U:
            return U
        try:
            return fn(s)
        except (UnicodeError, ValueError):
            raise JsonataError("D3140", f"Malformed URL passed to function: {s}") from None

    return convert


def _encode_component(s: str) -> str:
    return urllib.parse.quote(s.encode("utf-8", "strict"), safe="-_.!~*'()")


def _encode_url(s: str) -> str:
    return urllib.parse.quote(s.encode("utf-8", "strict"), safe="-_.!~*'();/?:@&=+$,#")


def _decode_component(s: str) -> str:
    if re.search(r"%(?![0-9A-Fa-f]{2})", s):
        raise ValueError(s)
    return urllib.parse.unquote(s, errors="strict")


# ------------------------------------------------------------------------------------- higher order


def _arity(f: Any) -> int:
    return f.arity if isinstance(f, Function) else 0


def _hof_args(f: Any, value: Any, index: Any, whole: Any) -> list[Any]:
    """The value, then the index and the whole array for a function that takes them."""
    n = _arity(f)
    if n >= 3:
        return [value, index, whole]
    if n >= 2:
        return [value, index]
    return [value]


def _map(arr: Any, f: Any, state: Any) -> Any:
    if arr is U:
        return U
    out = Seq()
    for i, v in enumerate(arr):
        r = call_function(f, _hof_args(f, v, i, arr), state)
        if r is not U:
            out.append(r)
    return out


def _filter(arr: Any, f: Any, state: Any) -> Any:
    if arr is U:
        return U
    out = Seq()
    for i, v in enumerate(arr):
        if boolean(call_function(f, _hof_args(f, v, i, arr), state)) is True:
            out.append(v)
    if len(out) == 1 and out[0] is None:
        return U  # as jsonatapy: a lone null kept is no value
    return out


def _single(arr: Any, f: Any = U, state: Any = None) -> Any:
    if arr is U:
        return U
    found = False
    result: Any = U
    for i, v in enumerate(arr):
        ok = True if f is U else boolean(call_function(f, _hof_args(f, v, i, arr), state)) is True
        if ok:
            if found:
                raise JsonataError(
                    "D3138", "The $single() function expected exactly 1 matching result.  Instead it matched more."
                )
            result, found = v, True
    if not found:
        raise JsonataError("D3139", "The $single() function expected exactly 1 matching result.  Instead it matched 0.")
    return result


def _reduce(arr: Any, f: Any, init: Any = U, state: Any = None) -> Any:
    if arr is U:
        return U
    n = _arity(f)
    if n < 2:
        raise JsonataError(
            "D3050", "The second argument of reduce function must be a function with at least two arguments"
        )
    if init is U and len(arr) > 0:
        result, index = arr[0], 1
    else:
        result, index = init, 0
    while index < len(arr):
        args = [result, arr[index]]
        if n >= 3:
            args.append(index)
        if n >= 4:
            args.append(arr)
        result = call_function(f, args, state)
        index += 1
    return result


def _sift(obj: Any, f: Any, state: Any) -> Any:
    if type(obj) is not dict:
        return U
    out = {k: v for k, v in obj.items() if boolean(call_function(f, _hof_args(f, v, k, obj), state)) is True}
    return out if out else U


def _each(obj: Any, f: Any, state: Any) -> Any:
    out = Seq()
    if type(obj) is dict:
        for k, v in obj.items():
            r = call_function(f, _hof_args(f, v, k, obj), state)
            if r is not U:
                out.append(r)
    return out


def _js_truthy(v: Any) -> bool:
    if v is U or v is None:
        return False
    if type(v) is float and v != v:
        return False
    return bool(v) or isinstance(v, list | dict | Function)


def merge_sort(arr: list[Any], after: Callable[[Any, Any], bool]) -> list[Any]:
    """A stable merge sort: `after(a, b)` true puts b before a (the reference's comparator)."""
    if len(arr) <= 1:
        return list(arr)
    middle = len(arr) // 2
    left, right = merge_sort(arr[:middle], after), merge_sort(arr[middle:], after)
    out: list[Any] = []
    i = j = 0
    while i < len(left) and j < len(right):
        if after(left[i], right[j]):
            out.append(right[j])
            j += 1
        else:
            out.append(left[i])
            i += 1
    out.extend(left[i:])
    out.extend(right[j:])
    return out


def _sort(arr: Any, f: Any = U, state: Any = None) -> Any:
    if arr is U:
        return U
    if len(arr) <= 1:
        return arr
    if f is U:
        numbers = all(type(v) in (int, float) for v in arr)
        strings = all(type(v) is str for v in arr)
        if not numbers and not strings:
            raise JsonataError(
                "D3070",
                "The single argument form of the sort function can only be applied to an array of strings or "
                "an array of numbers.  Use the second argument to specify a comparison function",
            )
        return merge_sort(arr, lambda a, b: bool(a > b))
    return merge_sort(arr, lambda a, b: _js_truthy(call_function(f, [a, b], state)))


HIGHER_ORDER = frozenset(
    {"map", "filter", "single", "reduce", "sift", "each", "sort", "contains", "split", "match", "replace"}
)


class Builtin:
    """A built-in: its implementation, its signature, and how compiled calls reach it."""

    def __init__(self, name: str, impl: Impl, signature: str) -> None:
        self.name = name
        self.impl = impl
        self.signature = Signature(signature)
        self.higher_order = name in HIGHER_ORDER
        # the reference passes HOF callbacks as many arguments as the function declares
        arity = 1 if name == "string" else len(self.signature.params)
        self.function = Function(name, self.call, arity, self.signature)
        self.kinds, self.required = _simple_kinds(self.signature)

    def call(self, args: list[Any], context: Any, state: State | None = None, position: int | None = None) -> Any:
        kinds = self.kinds
        if kinds is not None and self.required <= len(args) <= len(kinds):
            # every argument given, each of the plain type its parameter takes: nothing to fix up
            for arg, kind in zip(args, kinds, strict=False):
                if type(arg) not in kind:
                    break
            else:
                try:
                    return self.impl(*args, state=state) if self.higher_order else self.impl(*args)
                except JsonataError as exc:
                    if exc.position is None:
                        exc.position = position
                    raise
        try:
            if self.name == "reduce" and args and args[0] is None:
                return None  # as jsonatapy: null to reduce gives null
            if self.name == "reduce" and len(args) >= 3 and args[2] is U:
                return U  # as jsonatapy: an initial value given but undefined gives undefined
            validated = self.signature.validate(args, context)
            if self.higher_order:
                return self.impl(*validated, state=state)
            return self.impl(*validated)
        except JsonataError as exc:
            if exc.position is None:
                exc.position = position
            raise


_TYPES: dict[str, frozenset[type]] = {
    "s": frozenset({str}),
    "n": frozenset({int, float}),
    "b": frozenset({bool}),
    "o": frozenset({dict}),
    "l": frozenset({type(None)}),
}


def _simple_kinds(signature: Signature) -> tuple[tuple[frozenset[type], ...] | None, int]:
    """The Python types each parameter takes when its argument needs no fixing up (no array
    wrapping or checking of items, no context), and how many are required; None when a
    parameter is not that simple."""
    kinds: list[frozenset[type]] = []
    required = 0
    for param in signature.params:
        regex = param.regex
        optional = regex.endswith("?") and not param.context  # a context parameter given is given
        if regex.endswith("+"):
            return None, 0
        if param.type in _TYPES:
            kinds.append(_TYPES[param.type])
        elif param.type.startswith("(") and all(ch in _TYPES for ch in param.type[1:-1]):
            kinds.append(frozenset().union(*(_TYPES[ch] for ch in param.type[1:-1])))
        elif param.type.startswith("(") and set(param.type[1:-1]) <= {"s", "f"}:
            kinds.append(frozenset({str, Function, *(_function_types())}))
        elif param.type == "f":
            kinds.append(frozenset(_function_types()))
        elif param.type == "a" and param.subtype is None:
            kinds.append(frozenset({list, Seq, Cons}))
        elif param.type in ("x", "j"):
            values = {str, int, float, bool, type(None), dict, list, Seq, Cons}
            kinds.append(frozenset(values | (_function_types() if param.type == "x" else set())))
        else:
            return None, 0
        if not optional:
            if len(kinds) != required + 1:
                return None, 0  # a required parameter after an optional one
            required += 1
    return tuple(kinds), required


def _function_types() -> set[type]:
    from interlace.mapping.compiler.regex import Regex
    from interlace.mapping.compiler.runtime import Lambda, Partial

    return {Function, Lambda, Partial, Regex}


_TABLE: list[tuple[str, Impl, str]] = [
    ("sum", _sum, "<a<n>:n>"),
    ("count", _count, "<a:n>"),
    ("max", _max, "<a<n>:n>"),
    ("min", _min, "<a<n>:n>"),
    ("average", _average, "<a<n>:n>"),
    ("string", _string, "<x-b?:s>"),
    ("substring", _substring, "<s-nn?:s>"),
    ("substringBefore", _substring_before, "<s-s:s>"),
    ("substringAfter", _substring_after, "<s-s:s>"),
    ("lowercase", _lowercase, "<s-:s>"),
    ("uppercase", _uppercase, "<s-:s>"),
    ("length", _length, "<s-:n>"),
    ("trim", _trim, "<s-:s>"),
    ("pad", _pad, "<s-ns?:s>"),
    ("contains", _contains, "<s-(sf):b>"),
    ("split", _split, "<s-(sf)n?:a<s>>"),
    ("join", _join, "<a<s>s?:s>"),
    ("number", _number, "<(nsb)-:n>"),
    ("floor", _floor, "<n-:n>"),
    ("ceil", _ceil, "<n-:n>"),
    ("round", _round, "<n-n?:n>"),
    ("abs", _abs, "<n-:n>"),
    ("sqrt", _sqrt, "<n-:n>"),
    ("power", _power, "<n-n:n>"),
    ("formatBase", _format_base, "<n-n?:s>"),
    ("boolean", _boolean, "<x-:b>"),
    ("not", _not, "<x-:b>"),
    ("keys", _keys, "<x-:a<s>>"),
    ("lookup", _lookup, "<x-s:x>"),
    ("append", append, "<xx:a>"),
    ("exists", _exists, "<x:b>"),
    ("spread", _spread, "<x-:a<o>>"),
    ("merge", _merge, "<a<o>:o>"),
    ("reverse", _reverse, "<a:a>"),
    ("error", _error, "<s?:x>"),
    ("assert", _assert, "<bs?:x>"),
    ("type", _type, "<x:s>"),
    ("distinct", _distinct, "<x:x>"),
    ("zip", _zip, "<a+>"),
    ("encodeUrlComponent", _url(_encode_component), "<s-:s>"),
    ("encodeUrl", _url(_encode_url), "<s-:s>"),
    ("decodeUrlComponent", _url(_decode_component), "<s-:s>"),
    ("match", _match, "<s-f<s:o>n?:a<o>>"),
    ("replace", _replace, "<s-(sf)(sf)n?:s>"),
    ("map", _map, "<af>"),
    ("filter", _filter, "<af>"),
    ("single", _single, "<af?>"),
    ("reduce", _reduce, "<afj?:j>"),
    ("sift", _sift, "<o-f?:o>"),
    ("each", _each, "<o-f:a>"),
    ("sort", _sort, "<af?:a>"),
]

BUILTINS: dict[str, Builtin] = {name: Builtin(name, impl, sig) for name, impl, sig in _TABLE}
SUPPORTED = frozenset(BUILTINS)


# ------------------------------------------------------------------------------------- fast forms
# One argument of the usual type, the context not needed: the answer without the signature check.
# Anything else goes the general way (same result, same errors).


def _fast(name: str, test: Callable[[Any], bool]) -> Callable[..., Any]:
    b = BUILTINS[name]
    impl = b.impl

    def fast(v: Any, context: Any, position: int | None = None) -> Any:
        if test(v):
            return impl(v)
        return collapse(b.call([v], context, None, position))

    return fast


def _numbers(v: Any) -> bool:
    if isinstance(v, list):
        for x in v:
            t = type(x)
            if t is not int and t is not float:
                return False
        return True
    return False


def _is_str(v: Any) -> bool:
    return type(v) is str


def _is_num(v: Any) -> bool:
    t = type(v)
    return t is int or t is float


def _is_list(v: Any) -> bool:
    return isinstance(v, list)


FAST1: dict[str, Callable[..., Any]] = {
    "sum": _fast("sum", _numbers),
    "max": _fast("max", _numbers),
    "min": _fast("min", _numbers),
    "average": _fast("average", _numbers),
    "count": _fast("count", _is_list),
    "lowercase": _fast("lowercase", _is_str),
    "uppercase": _fast("uppercase", _is_str),
    "length": _fast("length", _is_str),
    "trim": _fast("trim", _is_str),
    "string": _fast("string", lambda v: type(v) is str or type(v) is int or (type(v) is float and v - v == 0)),
    "round": _fast("round", _is_num),
    "floor": _fast("floor", _is_num),
    "ceil": _fast("ceil", _is_num),
    "abs": _fast("abs", _is_num),
    "exists": lambda v, c, p=None: v is not U,
    "boolean": lambda v, c, p=None: boolean(v),
}
