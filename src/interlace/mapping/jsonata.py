"""JSONata expressions, compiled once and evaluated with limits (no host code can run).

Backed by jsonatapy (a Rust core): it passes the most conformance cases of the Python
JSONata libraries measured here and has evaluation time, depth and sequence limits built in.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import jsonatapy

from interlace.errors import MappingError
from interlace.types import JSON

DEFAULT_TIMEOUT_MS = 2000
DEFAULT_MAX_DEPTH = 200


class Expression:
    """A compiled JSONata expression."""

    def __init__(self, source: str, *, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
        self.source = source
        self.timeout_ms = timeout_ms
        try:
            self._compiled = jsonatapy.compile(source)
        except (ValueError, RuntimeError) as exc:
            raise MappingError(f"invalid JSONata: {exc}") from exc

    def evaluate(self, data: JSON, bindings: dict[str, Any] | None = None) -> JSON:
        """The expression's value for `data`; None when JSONata yields no value."""
        try:
            return self._compiled.evaluate(
                data, bindings, timeout=self.timeout_ms, max_stack_depth=DEFAULT_MAX_DEPTH
            )
        except (ValueError, RuntimeError, TypeError, ArithmeticError) as exc:
            # ArithmeticError: an int binding beyond 64 bits raises a bare OverflowError.
            raise MappingError(f"JSONata evaluation failed: {exc}") from exc

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"


@lru_cache(maxsize=1024)
def compile_expression(source: str) -> Expression:
    """Compile once per distinct expression text (flows sharing an expression share it)."""
    return Expression(source)
