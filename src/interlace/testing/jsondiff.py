"""Differences between two JSON values, each named by its path (`lines[0].qty`)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from interlace.types import JSON

_ABSENT = object()


@dataclass(frozen=True)
class Difference:
    path: str
    expected: JSON
    actual: JSON

    def __str__(self) -> str:
        return f"{self.path or '(body)'}: expected {_show(self.expected)}, got {_show(self.actual)}"


def _show(value: JSON) -> str:
    return "(absent)" if value is _ABSENT else json.dumps(value, sort_keys=True, default=str)


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _same_scalar(a: JSON, b: JSON) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)
    return type(a) is type(b) and bool(a == b)


def differences(expected: JSON, actual: JSON, path: str = "") -> list[Difference]:
    if isinstance(expected, dict) and isinstance(actual, dict):
        out: list[Difference] = []
        for key in [*expected, *(k for k in actual if k not in expected)]:
            out += differences(expected.get(key, _ABSENT), actual.get(key, _ABSENT), _join(path, key))
        return out
    if isinstance(expected, list) and isinstance(actual, list):
        out = []
        for i in range(max(len(expected), len(actual))):
            e = expected[i] if i < len(expected) else _ABSENT
            a = actual[i] if i < len(actual) else _ABSENT
            out += differences(e, a, _join(path, i))
        return out
    if expected is _ABSENT or actual is _ABSENT:
        return [Difference(path, expected, actual)]
    return [] if _same_scalar(expected, actual) else [Difference(path, expected, actual)]
