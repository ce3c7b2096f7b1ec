"""A JSONata compiler: the expression parsed once, compiled to a Python function once, run fast.

`compile_program(text)` gives a `Program`, or raises `Unsupported` (a construct the compiler does
not handle yet: the caller falls back to jsonatapy) or `JsonataError` (not valid JSONata).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from interlace.mapping.compiler.codegen import Compiled, Generator
from interlace.mapping.compiler.errors import JsonataError, Unsupported
from interlace.mapping.compiler.parser import parse
from interlace.mapping.compiler.runtime import Limits, State, U, out, out_number, stack_overflow, wrap_input

__all__ = ["JsonataError", "Program", "Unsupported", "compile_program"]


class Program:
    """A compiled expression with its sandbox limits."""

    def __init__(self, text: str, compiled: Compiled, limits: Limits) -> None:
        self.text = text
        self.compiled = compiled
        self.limits = limits
        self.function = compiled.function
        self.needs_state = compiled.needs_state
        self.timed = compiled.timed
        self.free = compiled.free
        self.calls = compiled.calls
        self.out = compiled.out
        self.entry = compiled.entry

    def step(self, template: str, names: dict[str, Any]) -> Callable[[Any], Any]:
        """A function of a message (`m.body` its data) giving `template` of the expression's value
        as plain JSON, in one function (see `Compiled.wrapped`)."""
        return self.compiled.wrapped("m", template, names)

    def evaluate(self, data: Any, bindings: dict[str, Any] | None = None) -> Any:
        """The value for `data` as plain JSON (None for undefined); JsonataError when it fails."""
        state = None
        if self.needs_state:
            state = State(data, bindings or {}, self.limits)
            if self.timed:
                state.start()
        try:
            value = self.function(wrap_input(data) if isinstance(data, list) else data, state)
        except RecursionError:
            raise stack_overflow() from None
        kind = self.out
        if kind == "none":
            return None if value is U else value
        if kind == "number":
            return out_number(value)
        return out(value)


def compile_program(
    text: str, timeout_ms: int, max_depth: int, failed: Callable[[Exception, Any], Any] | None = None
) -> Program:
    """`failed(exc, data)` is what `Program.entry` does with an exception (by default: raise it)."""
    tree = parse(text)
    limits = Limits(timeout_ms, max_depth)
    return Program(text, Generator().compile(tree, limits, failed), limits)
