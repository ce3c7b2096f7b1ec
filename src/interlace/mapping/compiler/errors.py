"""The errors of the compiled path: a JSONata error code, its message and where it happened."""

from __future__ import annotations


class JsonataError(Exception):
    """A JSONata error (`T2001`, `D1012`, `S0211`...) with the offset in the expression text, when known."""

    def __init__(self, code: str, message: str, position: int | None = None) -> None:
        self.code = code
        self.message = message
        self.position = position
        super().__init__(f"{code}: {message}")

    def __str__(self) -> str:
        where = f" (at position {self.position})" if self.position is not None else ""
        return f"{self.code}: {self.message}{where}"

    def __repr__(self) -> str:
        return f"JsonataError({self.code!r}, {self.message!r}, {self.position!r})"


class Unsupported(Exception):
    """The compiler does not handle this construct yet: the expression falls back to jsonatapy."""

    def __init__(self, construct: str, position: int | None = None) -> None:
        self.construct = construct
        self.position = position
        super().__init__(construct if position is None else f"{construct} (at position {position})")
