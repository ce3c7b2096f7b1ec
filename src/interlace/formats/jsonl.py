"""JSON Lines (one object per line) and JSON (one array of objects), both streamed.

The array is read element by element with `JSONDecoder.raw_decode` over a sliding buffer, so a
large array is never held in memory at once. Every record is held to the limits of `limits.py`
(nesting, finite numbers, 64-bit integers) and refused with its position otherwise. Decimals
(from copybook or fixed-width records) are written as JSON strings, exactly ("-12.30"), never as
binary floats.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, BinaryIO, Literal

from interlace.errors import ParseError
from interlace.formats.base import Codec, Record, RecordWriter, lines, plain_decimal
from interlace.formats.jsontext import JsonRefused, loads
from interlace.formats.limits import MAX_DEPTH, depth_offset, value_problem
from interlace.options import Options
from interlace.types import JSONObject

_CHUNK = 1 << 16
_WS = " \t\r\n"
_MAX_RECORD = 64 << 20  # a record this long that still does not parse is broken


class JsonFormat(Options):
    """`format: {type: json}`: a top-level array of objects."""

    type: Literal["json"] = "json"
    encoding: Literal["utf-8"] = "utf-8"
    indent: int | None = None


class JsonLinesFormat(Options):
    """`format: {type: jsonl}`: one object per line."""

    type: Literal["jsonl"] = "jsonl"
    encoding: Literal["utf-8"] = "utf-8"


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return plain_decimal(value)
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(value: Any, indent: int | None = None) -> str:
    """JSON text with decimals as exact strings."""
    return json.dumps(value, default=_default, ensure_ascii=False, indent=indent)


class JsonLinesCodec(Codec):
    def __init__(self, config: JsonLinesFormat | None = None) -> None:
        self.config = config or JsonLinesFormat()

    def read(self, stream: BinaryIO, *, name: str = "<stream>") -> Iterator[Record]:
        offset = 0
        number = 0
        for line in lines(stream, name=name):
            start = offset
            offset += len(line)
            if not line.strip():
                continue
            number += 1
            try:
                value = loads(line)
            except JsonRefused as exc:
                at = start if exc.offset is None else start + exc.offset
                error = ParseError(exc.reason, file=name, record=number, offset=at)
                yield Record(number, start, error=error, raw=line)
                continue
            if not isinstance(value, dict):
                error = ParseError(
                    f"is a JSON {type(value).__name__}, not an object", file=name, record=number, offset=start
                )
                yield Record(number, start, error=error, raw=line)
                continue
            yield Record(number, start, value, raw=line)

    def writer(self, stream: BinaryIO) -> RecordWriter:
        return _LinesWriter(stream)


class _LinesWriter(RecordWriter):
    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def write(self, record: JSONObject) -> None:
        self._stream.write(dumps(record).encode() + b"\n")


class JsonCodec(Codec):
    def __init__(self, config: JsonFormat | None = None) -> None:
        self.config = config or JsonFormat()

    def read(self, stream: BinaryIO, *, name: str = "<stream>") -> Iterator[Record]:
        reader = _ArrayReader(stream, name)
        yield from reader.records()

    def writer(self, stream: BinaryIO) -> RecordWriter:
        return _ArrayWriter(stream, self.config.indent)


class _ArrayReader:
    """Walks `[ {...}, {...} ]` one element at a time over a sliding text buffer."""

    def __init__(self, stream: BinaryIO, name: str) -> None:
        self.stream = stream
        self.name = name
        self.text = ""
        self.pos = 0
        self.offset = 0  # byte offset of text[pos] in the stream
        self.eof = False
        self.utf8 = codecs.getincrementaldecoder("utf-8")()
        self.decoder = json.JSONDecoder()

    def _fill(self) -> bool:
        if self.eof:
            return False
        chunk = self.stream.read(_CHUNK)
        self.eof = not chunk
        try:
            more = self.utf8.decode(chunk, final=self.eof)
        except UnicodeDecodeError:
            more = "\ufffd"  # the element holding it then fails to parse, with its offset
        self.text = self.text[self.pos :] + more
        self.pos = 0
        return bool(chunk)

    def _consume(self, count: int) -> None:
        self.offset += len(self.text[self.pos : self.pos + count].encode("utf-8", errors="surrogatepass"))
        self.pos += count

    def _next_char(self) -> str | None:
        """The next non-blank character (not consumed), or None at the end of the stream."""
        while True:
            while self.pos < len(self.text) and self.text[self.pos] in _WS:
                self._consume(1)
            if self.pos < len(self.text):
                return self.text[self.pos]
            if not self._fill():
                return None

    def _error(self, number: int, reason: str) -> Record:
        error = ParseError(reason, file=self.name, record=number, offset=self.offset)
        return Record(number, self.offset, error=error, fatal=True)

    def records(self) -> Iterator[Record]:
        if self._next_char() != "[":
            yield self._error(1, "a JSON file must hold an array of records")
            return
        self._consume(1)
        number = 0
        expect_comma = False
        while True:
            char = self._next_char()
            if char is None:
                yield self._error(number + 1, "the array is not closed (file cut short?)")
                return
            if char == "]":
                self._consume(1)
                if self._next_char() is not None:
                    yield self._error(number + 1, "unexpected data after the array")
                return
            if expect_comma:
                if char != ",":
                    yield self._error(number + 1, "expected ',' or ']' between records")
                    return
                self._consume(1)
                self._next_char()
            number += 1
            record = self._element(number)
            yield record
            if record.fatal:
                return  # the array's syntax is broken: nothing after this can be trusted
            expect_comma = True

    def _element(self, number: int) -> Record:
        while True:
            try:
                value, end = self.decoder.raw_decode(self.text, self.pos)
            except RecursionError:  # nested past what the stdlib parser can hold: far past MAX_DEPTH
                head = self.text[self.pos : self.pos + (1 << 20)].encode("utf-8", "surrogatepass")
                at = self.offset + (depth_offset(head, MAX_DEPTH) or 0)
                error = ParseError(f"nested deeper than {MAX_DEPTH} levels", file=self.name, record=number, offset=at)
                return Record(number, self.offset, error=error, fatal=True)
            except ValueError as exc:
                if len(self.text) - self.pos < _MAX_RECORD and self._fill():
                    continue
                return self._error(number, f"not JSON: {exc}")
            if end == len(self.text) and self._fill():
                continue  # a number may go on in the next chunk
            start = self.offset
            raw = self.text[self.pos : end].encode("utf-8", errors="surrogatepass")
            self.offset += len(raw)
            self.pos = end
            if not isinstance(value, dict):
                reason = f"is a JSON {type(value).__name__}, not an object"
                error = ParseError(reason, file=self.name, record=number, offset=start)
                return Record(number, start, error=error, raw=raw)
            problem = value_problem(value)
            if problem is not None:
                deep = depth_offset(raw, MAX_DEPTH) if problem.too_deep else None
                at = start if deep is None else start + deep
                error = ParseError(problem.reason, file=self.name, record=number, offset=at)
                return Record(number, start, error=error, raw=raw)
            return Record(number, start, value, raw=raw)


class _ArrayWriter(RecordWriter):
    def __init__(self, stream: BinaryIO, indent: int | None) -> None:
        self._stream = stream
        self._indent = indent
        self._count = 0
        self._closed = False

    def write(self, record: JSONObject) -> None:
        sep = b"[\n" if self._count == 0 else b",\n"
        self._stream.write(sep + dumps(record, self._indent).encode())
        self._count += 1

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stream.write(b"[]\n" if self._count == 0 else b"\n]\n")
