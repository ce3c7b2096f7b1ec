"""The small streaming interface every record format implements.

A codec reads records from a binary stream one at a time (never the whole file) and writes
records to a binary stream. Reading is tolerant: a bad record comes back as a `Record` whose
`error` is a `ParseError` naming the file, record number, byte offset and field, and reading
goes on with the next record whenever the format's framing allows it (lines, fixed lengths,
RDW). When the framing itself is broken (malformed XML, a JSON array cut short) the error
record is the last one, marked `fatal`. Callers that want the first error raised use `Codec.values`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, BinaryIO

from interlace.errors import ParseError
from interlace.formats.limits import MAX_LINE
from interlace.types import JSON, JSONObject


@dataclass(slots=True)
class Record:
    """One record read from a stream: its value, or the reason it could not be read."""

    number: int
    """1-based position of the record in the stream."""
    offset: int | None
    """Byte offset of the record's first byte (None where the format cannot tell, e.g. XML)."""
    value: JSONObject | None = None
    error: ParseError | None = None
    raw: bytes | None = None
    """The record's bytes as read, framing included (kept for error files); None if unknown."""
    fatal: bool = False
    """The stream cannot be read past this error (its framing is broken): it is the last record."""


class RecordWriter(ABC):
    """Writes records to a binary stream; `close` finishes the document but not the stream."""

    @abstractmethod
    def write(self, record: JSONObject) -> None:
        """Encode and write one record; raises ValueError naming the field if it cannot be encoded."""

    def close(self) -> None:
        """Write whatever ends the document (a closing bracket or tag). Idempotent."""

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Codec(ABC):
    """A record format: decodes a binary stream into records and encodes records back."""

    @abstractmethod
    def read(self, stream: BinaryIO, *, name: str = "<stream>") -> Iterator[Record]:
        """Yield the stream's records in order; `name` is the file name used in errors."""

    @abstractmethod
    def writer(self, stream: BinaryIO) -> RecordWriter:
        """A writer that encodes records onto `stream`."""

    def values(self, stream: BinaryIO, *, name: str = "<stream>") -> Iterator[JSONObject]:
        """The records' values; raises the first record's `ParseError`."""
        for record in self.read(stream, name=name):
            if record.error is not None:
                raise record.error
            assert record.value is not None
            yield record.value

    def preamble(self, stream: BinaryIO) -> bytes:
        """The bytes that open a file before its first record (a CSV header line), so that a file
        of failed records can be made readable again by putting them after it."""
        return b""

    def offset_table(self) -> list[JSONObject] | None:
        """The field layout (name, start, end, length per field) for fixed layouts, else None."""
        return None


def plain_decimal(value: Decimal) -> str:
    """A decimal as digits with its point, never in exponent form: 1E-7 is "0.0000001", 0E-10
    "0.0000000000", and the places it has are kept ("12.30")."""
    return format(value, "f")


def jsonable(value: Any) -> JSON:
    """A decoded value as plain JSON: decimals become exact strings ("-12.30"), bytes hex."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return plain_decimal(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


def lines(stream: BinaryIO, *, name: str, limit: int = MAX_LINE) -> Iterator[bytes]:
    """The stream's lines, newline kept, as iterating it gives them, but never one longer than
    `limit` bytes: that raises a ParseError (the framing is lost) before the line is held whole."""
    offset = 0
    readline = stream.readline
    while line := readline(limit + 1):
        if len(line) > limit and not line.endswith(b"\n"):
            raise ParseError(f"a line longer than {limit} bytes: not a record of this format", file=name, offset=offset)
        offset += len(line)
        yield line
