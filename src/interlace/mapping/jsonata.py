"""JSONata expressions, compiled once and evaluated with limits (no host code can run).

Each expression is compiled to Python by `interlace.mapping.compiler` when it can be, and runs
on jsonatapy (a Rust implementation, the reference here) when it uses a construct the compiler
does not handle yet: which one is decided once, when the expression is compiled, and
`Expression.fallback` says why (`interlace check` reports it). Both enforce the same limits: an
evaluation time limit, a call depth limit and the range size limit, with the same error codes.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import jsonatapy

from interlace.errors import MappingError
from interlace.mapping.compiler import JsonataError, Program, Unsupported, compile_program
from interlace.mapping.compiler.parser import Node, parse
from interlace.mapping.compiler.runtime import State, U, out, out_number, stack_overflow, wrap_input
from interlace.types import JSON

DEFAULT_TIMEOUT_MS = 2000
DEFAULT_MAX_DEPTH = 200


class Expression:
    """A compiled JSONata expression.

    `engine` is "compiled" or "jsonatapy"; `fallback` names the construct that made it jsonatapy
    (None when compiled); `variables` are the variables it reads from the bindings (None when
    they cannot be known).
    """

    def __init__(self, source: str, *, timeout_ms: int = DEFAULT_TIMEOUT_MS, compiled: bool = True) -> None:
        self.source = source
        self.timeout_ms = timeout_ms
        self.fallback: str | None = None
        self.variables: frozenset[str] | None = None
        self._program: Program | None = None
        parse_error: JsonataError | None = None
        tree: Node | None = None
        try:
            tree = parse(source)
            self.variables = _free_variables(tree)
        except JsonataError as exc:
            parse_error = exc
        try:
            self._compiled = jsonatapy.compile(source)
        except (ValueError, RuntimeError) as exc:
            where = parse_error.position if parse_error is not None else None
            code = parse_error.code if parse_error is not None else None
            raise MappingError(f"invalid JSONata: {parse_error or exc}", code=code, position=where) from exc
        if not compiled:
            self.fallback = "the compiler was turned off for this expression"
        elif parse_error is not None:
            self.fallback = f"the compiler's parser refused it: {parse_error}"
        else:
            try:
                self._program = compile_program(source, timeout_ms, DEFAULT_MAX_DEPTH, _on_error(self._reference))
                self.variables = self._program.free
            except Unsupported as exc:
                self.fallback = str(exc)
        if self._program is not None:
            self.evaluate = _compiled_evaluator(self._program, self._reference)  # type: ignore[method-assign]
            self.evaluate_data: Callable[[JSON], JSON] = self._program.entry
        else:
            self.evaluate = self._reference  # type: ignore[method-assign]
            self.evaluate_data = self._evaluate_data_reference

    @property
    def engine(self) -> str:
        return "compiled" if self._program is not None else "jsonatapy"

    def evaluate(self, data: JSON, bindings: dict[str, Any] | None = None) -> JSON:
        """The expression's value for `data`; None when JSONata yields no value."""
        raise NotImplementedError  # replaced per instance in __init__

    def step(self, template: str, names: dict[str, Any]) -> Callable[[Any], Any] | None:
        """For a compiled expression: one function of a message (its `body` the data, no bindings)
        returning `template` (Python text naming only `names`) of the value, as `evaluate_data`
        gives it: the step a flow runs, in one call. None for an expression jsonatapy runs."""
        return self._program.step(template, names) if self._program is not None else None

    def _evaluate_data_reference(self, data: JSON) -> JSON:
        return self._reference(data, None)

    def _reference(self, data: JSON, bindings: dict[str, Any] | None = None) -> JSON:
        try:
            return self._compiled.evaluate(data, bindings, timeout=self.timeout_ms, max_stack_depth=DEFAULT_MAX_DEPTH)
        except (ValueError, RuntimeError, TypeError, ArithmeticError) as exc:
            # ArithmeticError: an int binding beyond 64 bits raises a bare OverflowError.
            raise MappingError(f"JSONata evaluation failed: {exc}") from exc

    def reference(self) -> Callable[[JSON, dict[str, Any] | None], JSON]:
        """Evaluation by jsonatapy whatever the engine (for comparing the two)."""
        return self._reference

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"


Evaluator = Callable[..., JSON]


def _compiled_evaluator(program: Program, reference: Evaluator) -> Evaluator:
    """The evaluate function of a compiled expression, with nothing per call it does not need:
    no state object when the expression reads no bindings and cannot run long, no output
    conversion when its value is plain JSON already."""
    function = program.function
    entry = program.entry
    calls = program.calls
    kind = program.out
    convert = out_number if kind == "number" else out if kind == "any" else None
    limits = program.limits
    needs_state, timed = program.needs_state, program.timed

    def evaluate(data: JSON, bindings: dict[str, Any] | None = None) -> JSON:
        if not bindings:
            return entry(data)
        if calls and not calls.isdisjoint(bindings):
            return reference(data, bindings)  # a binding named like a built-in: the reference decides
        state = None
        if needs_state:
            state = State(data, bindings or {}, limits)
            if timed:
                state.start()
        try:
            value = function(data if type(data) is not list else wrap_input(data), state)
            if convert is not None:
                return convert(value)
        except JsonataError as exc:
            raise _failed(exc) from exc
        except RecursionError:
            raise MappingError(f"JSONata evaluation failed: {stack_overflow()}", code="D1011") from None
        except Exception:  # a value the compiled code was not written for: the reference decides
            return reference(data, bindings)
        return None if value is U else value

    return evaluate


def _on_error(reference: Evaluator) -> Callable[[Exception, JSON], JSON]:
    """What the compiled entry does with an exception, as `evaluate` does."""

    def failed(exc: Exception, data: JSON) -> JSON:
        if isinstance(exc, MappingError):
            raise exc  # from a function the step's template called (a route's next rule): as it is
        if isinstance(exc, JsonataError):
            raise _failed(exc) from exc
        if isinstance(exc, RecursionError):
            raise MappingError(f"JSONata evaluation failed: {stack_overflow()}", code="D1011") from None
        return reference(data, None)  # a value the compiled code was not written for: the reference decides

    return failed


def _failed(exc: JsonataError) -> MappingError:
    return MappingError(f"JSONata evaluation failed: {exc}", code=exc.code, position=exc.position)


def _free_variables(tree: Node) -> frozenset[str]:
    """Every variable name the expression mentions (a superset of what it reads from bindings)."""
    from interlace.mapping.compiler.codegen import _walk

    return frozenset(n.value for n in _walk(tree) if n.type == "variable" and n.value not in ("", "$"))


def condition_source(expression: str) -> str:
    """The expression a condition (filter, route `when`) runs: judged by JSONata's own truth rules."""
    return f"$boolean(({expression}))"


@lru_cache(maxsize=1024)
def compile_expression(source: str) -> Expression:
    """Compile once per distinct expression text (flows sharing an expression share it)."""
    return Expression(source)
