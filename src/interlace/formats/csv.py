"""CSV: one record per row, read with the standard `csv` module fed line by line.

Rows are read from the binary stream a physical line at a time, so the byte offset of each
record is known and a quoted field spanning several lines still makes one record.
With `header: true` the first row names the fields; otherwise `columns` does (or the fields are
named `1`, `2`, ...). All values are strings, as CSV has no types; an empty field stays "".
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from decimal import Decimal
from typing import BinaryIO, Literal

from interlace.errors import ParseError
from interlace.formats.base import Codec, Record, RecordWriter, plain_decimal
from interlace.formats.base import lines as bounded_lines
from interlace.options import Options
from interlace.types import JSONObject

Quoting = Literal["minimal", "all", "nonnumeric", "none"]
_QUOTING: dict[str, int] = {
    "minimal": csv.QUOTE_MINIMAL,
    "all": csv.QUOTE_ALL,
    "nonnumeric": csv.QUOTE_NONNUMERIC,
    "none": csv.QUOTE_NONE,
}


class CsvFormat(Options):
    """`format: {type: csv, ...}`."""

    type: Literal["csv"] = "csv"
    dialect: Literal["excel", "excel-tab", "unix"] = "excel"
    delimiter: str | None = None
    quotechar: str | None = None
    quoting: Quoting | None = None
    escapechar: str | None = None
    header: bool = True
    columns: list[str] | None = None
    encoding: str = "utf-8"
    line_terminator: str = "\r\n"


class _Lines:
    """Feeds decoded lines to `csv.reader` while keeping the bytes and offset of each row."""

    def __init__(self, stream: BinaryIO, encoding: str, name: str = "<stream>") -> None:
        self._stream = stream
        self._encoding = encoding
        self._name = name
        self.offset = 0
        self.taken: list[bytes] = []

    def __iter__(self) -> Iterator[str]:
        for line in bounded_lines(self._stream, name=self._name):
            self.taken.append(line)
            self.offset += len(line)
            yield line.decode(self._encoding)


class CsvCodec(Codec):
    def __init__(self, config: CsvFormat) -> None:
        self.config = config
        params: dict[str, object] = {}
        if config.delimiter is not None:
            params["delimiter"] = config.delimiter
        if config.quotechar is not None:
            params["quotechar"] = config.quotechar
        if config.quoting is not None:
            params["quoting"] = _QUOTING[config.quoting]
        if config.escapechar is not None:
            params["escapechar"] = config.escapechar
        self._params = params

    def read(self, stream: BinaryIO, *, name: str = "<stream>") -> Iterator[Record]:
        lines = _Lines(stream, self.config.encoding, name)
        reader = csv.reader(iter(lines), self.config.dialect, **self._params)  # type: ignore[arg-type]
        names = self.config.columns
        number = 0
        while True:
            start = lines.offset
            lines.taken.clear()
            try:
                row = next(reader)
            except StopIteration:
                return
            except (csv.Error, UnicodeDecodeError) as exc:
                number += 1
                error = ParseError(str(exc), file=name, record=number, offset=start)
                fatal = isinstance(exc, csv.Error)  # the reader cannot go on after one
                yield Record(number, start, error=error, raw=b"".join(lines.taken), fatal=fatal)
                if fatal:
                    return
                continue
            if names is None and self.config.header:
                names = row
                continue
            if not row:
                continue
            number += 1
            raw = b"".join(lines.taken)
            if names is None:
                yield Record(number, start, {str(i + 1): v for i, v in enumerate(row)}, raw=raw)
            elif len(row) != len(names):
                field = names[len(row)] if len(row) < len(names) else None
                error = ParseError(
                    f"has {len(row)} fields, the header has {len(names)}",
                    file=name,
                    record=number,
                    offset=start,
                    field=field,
                )
                yield Record(number, start, error=error, raw=raw)
            else:
                yield Record(number, start, dict(zip(names, row, strict=True)), raw=raw)

    def writer(self, stream: BinaryIO) -> RecordWriter:
        return _CsvWriter(self, stream)

    def preamble(self, stream: BinaryIO) -> bytes:
        if not self.config.header or self.config.columns is not None:
            return b""
        lines = _Lines(stream, self.config.encoding)
        reader = csv.reader(iter(lines), self.config.dialect, **self._params)  # type: ignore[arg-type]
        try:
            next(reader)
        except (StopIteration, csv.Error, UnicodeDecodeError):
            return b""
        return b"".join(lines.taken)


class _CsvWriter(RecordWriter):
    def __init__(self, codec: CsvCodec, stream: BinaryIO) -> None:
        self._codec = codec
        self._stream = stream
        self._text = io.StringIO()
        self._csv = csv.writer(
            self._text,
            codec.config.dialect,
            lineterminator=codec.config.line_terminator,
            **codec._params,  # type: ignore[arg-type]
        )
        self._names: list[str] | None = codec.config.columns
        self._headed = False

    def write(self, record: JSONObject) -> None:
        if self._names is None:
            self._names = [str(k) for k in record]
        if self._codec.config.header and not self._headed:
            self._csv.writerow(self._names)
            self._headed = True
        missing = [n for n in record if n not in self._names]
        if missing:
            raise ValueError(f"field {missing[0]!r} is not one of the CSV columns {self._names}")
        self._csv.writerow(["" if record.get(n) is None else _text(record.get(n)) for n in self._names])
        self._stream.write(self._text.getvalue().encode(self._codec.config.encoding))
        self._text.seek(0)
        self._text.truncate()


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return plain_decimal(value)
    return str(value)
