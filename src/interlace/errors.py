"""One error hierarchy: each error carries what a user needs to fix the problem."""

from __future__ import annotations

from dataclasses import dataclass


class InterlaceError(Exception):
    """Base of every error Interlace raises on purpose."""


@dataclass
class ConfigProblem:
    """One problem found in a config file, with where it is."""

    path: str
    message: str
    line: int | None = None
    file: str | None = None

    def __str__(self) -> str:
        where = self.file or "config"
        if self.line is not None:
            where += f":{self.line}"
        return f"{where}: {self.path or '<root>'}: {self.message}"


class ConfigError(InterlaceError):
    """A config file was refused; `problems` lists every problem found, not just the first."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))

    def __repr__(self) -> str:
        return f"ConfigError({len(self.problems)} problems)"


class ConnectorError(InterlaceError):
    """A connector could not talk to its system."""


class DeliveryError(ConnectorError):
    """A sink failed to deliver a message.

    `retryable` says whether trying again may help (a 503 does, a 400 does not);
    `retry_after` is the wait the target asked for, in seconds, if it asked.
    """

    def __init__(self, message: str, *, retryable: bool = True, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return f"DeliveryError({str(self)!r}, retryable={self.retryable}, retry_after={self.retry_after})"


class StepError(InterlaceError):
    """A step refused a message for a reason that retrying will not change (bad data)."""


class ValidationFailed(StepError):
    """A message does not match its entity's JSON Schema; `errors` lists each failing path."""

    def __init__(self, entity: str, errors: list[str]) -> None:
        self.entity = entity
        self.errors = errors
        super().__init__(f"does not match entity {entity!r}: " + "; ".join(errors))


class MappingError(StepError):
    """A JSONata expression failed to compile or to evaluate; `code` is the JSONata error code
    (`T2001`) and `position` the offset in the expression just past where it failed, when known."""

    def __init__(self, message: str, *, code: str | None = None, position: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.position = position


class ParseError(InterlaceError):
    """A record could not be read; says where: file, record number, byte offset and field."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        record: int | None = None,
        offset: int | None = None,
        field: str | None = None,
    ) -> None:
        self.reason = message
        self.file = file
        self.record = record
        self.offset = offset
        self.field = field
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = []
        if self.file is not None:
            parts.append(f"file {self.file}")
        if self.record is not None:
            parts.append(f"record {self.record}")
        if self.offset is not None:
            parts.append(f"byte {self.offset}")
        if self.field is not None:
            parts.append(f"field {self.field}")
        where = ", ".join(parts)
        return f"{where}: {self.reason}" if where else self.reason


class Backpressure(InterlaceError):
    """A flow holds as many undelivered work items as its bound allows: the sender must wait
    (a webhook answers 429 with Retry-After; a poller pauses). Nothing was stored."""

    def __init__(self, flow: str, pending: int, bound: int, retry_after: float = 1.0) -> None:
        super().__init__(f"flow {flow!r} has {pending} undelivered work items (bound {bound}): try again later")
        self.flow = flow
        self.pending = pending
        self.bound = bound
        self.retry_after = retry_after


class IdempotencyConflict(InterlaceError):
    """An idempotency key seen before arrived with a different body."""

    def __init__(self, key: str, message_id: str) -> None:
        super().__init__(f"idempotency key {key!r} was used before with another body (message {message_id})")
        self.key = key
        self.message_id = message_id
