"""Bulk load of CSV files into PostgreSQL: one message per chunk of a file, not one per record.

With `trigger: {system: drop, pattern: "*.csv", bulk: true, chunk: 50000}` on a local `files`
system whose format is CSV, the source does not decode records. It takes a complete file, stores
its intent (the cursor), moves the file to `archive/` (a stable path from then on), scans it for
row boundaries (byte offsets at the start of a row, quote-aware: a quoted field may hold
newlines) and submits ONE message per chunk of about `chunk` rows, with the cursor (the byte
offset reached) in the same hub transaction and an idempotency key per chunk:

    {"interlace_csv_chunk": 1, "system": "drop", "file": "archive/orders.csv",
     "fingerprint": "1f4a-17c...", "start": 38, "end": 5120044, "rows": 50000,
     "columns": ["id", "name", ...], "delimiter": ",", "quote": "\\"", "encoding": "UTF8"}

(event `chunk`). The `postgres` sink recognises it by its event, the marker key and its `source`
being the `files` system the body names (a local folder of the same running config), reads the
byte range from that folder only (the name is checked to stay inside it, and the file must still
have the fingerprint) and streams it with `COPY ... FROM STDIN (FORMAT csv)` into the target (or
a staging table, then upsert), recording the delivery id in the same transaction.

Blank lines and a file's last row without a line end are fine; a row PostgreSQL refuses (wrong
number of fields, a value of the wrong type) fails its whole chunk, which goes to the flow's
error handling (retries, then dead letter) while the other chunks land.
"""

from __future__ import annotations

import csv
import io
import weakref
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from interlace.errors import DeliveryError
from interlace.message import Message
from interlace.types import JSONObject

if TYPE_CHECKING:
    from interlace.connectors.files import FilesConnector
    from interlace.formats.csv import CsvFormat

MARKER = "interlace_csv_chunk"
"""The body key (value: the chunk format version, 1) that marks a CSV chunk message."""
EVENT = "chunk"
VERSION = 1

ENCODINGS = {
    "utf-8": "UTF8", "utf8": "UTF8", "utf_8": "UTF8", "ascii": "SQL_ASCII", "us-ascii": "SQL_ASCII",
    "latin-1": "LATIN1", "latin1": "LATIN1", "iso-8859-1": "LATIN1", "iso8859-1": "LATIN1",
    "cp1252": "WIN1252", "windows-1252": "WIN1252", "iso-8859-15": "LATIN9", "latin-9": "LATIN9",
}  # fmt: skip
"""Python encoding names (the files format's `encoding`) a bulk load accepts, as PostgreSQL names.
All are ASCII-compatible single-byte or UTF-8, so a quote or newline byte is always one."""

_systems: weakref.WeakValueDictionary[str, FilesConnector] = weakref.WeakValueDictionary()


def register(connector: FilesConnector) -> None:
    """Make a local files system of this process reachable by the sinks that load its chunks."""
    _systems[connector.system] = connector


def find(system: str) -> FilesConnector | None:
    return _systems.get(system)


@dataclass(frozen=True)
class Dialect:
    delimiter: str
    quote: str
    encoding: str
    """The PostgreSQL name."""


def dialect_problem(config: CsvFormat) -> str | None:
    """Why a CSV format cannot be bulk loaded (PostgreSQL's CSV rules differ), or None."""
    if config.escapechar is not None:
        return "an `escapechar` (PostgreSQL's CSV doubles quotes instead)"
    if config.quoting == "none":
        return "`quoting: none`"
    if not config.header and not config.columns:
        return "no header row and no `columns` (the chunks are mapped to the table by column name)"
    if config.encoding.lower() not in ENCODINGS:
        return f"encoding {config.encoding!r} (use one of {', '.join(sorted(set(ENCODINGS)))})"
    d = dialect_of(config)
    if len(d.delimiter.encode()) != 1 or len(d.quote.encode()) != 1 or d.delimiter == d.quote:
        return "a delimiter or quote that is not one single-byte character"
    return None


def dialect_of(config: CsvFormat) -> Dialect:
    base = csv.get_dialect(config.dialect)
    delimiter = config.delimiter if config.delimiter is not None else base.delimiter
    quote = config.quotechar if config.quotechar is not None else (base.quotechar or '"')
    return Dialect(delimiter, quote, ENCODINGS.get(config.encoding.lower(), "UTF8"))


@dataclass(frozen=True)
class CsvChunk:
    """One CSV chunk message's body, checked."""

    system: str
    file: str
    """The archived file, relative to the system's folder."""
    fingerprint: str
    start: int
    end: int
    rows: int
    columns: tuple[str, ...]
    dialect: Dialect

    def body(self) -> JSONObject:
        return {
            MARKER: VERSION, "system": self.system, "file": self.file, "fingerprint": self.fingerprint,
            "start": self.start, "end": self.end, "rows": self.rows, "columns": list(self.columns),
            "delimiter": self.dialect.delimiter, "quote": self.dialect.quote, "encoding": self.dialect.encoding,
        }  # fmt: skip

    def describe(self) -> JSONObject:
        return {"system": self.system, "file": self.file, "start": self.start, "end": self.end}


def is_chunk(message: Message) -> bool:
    return message.event == EVENT and isinstance(message.body, dict) and MARKER in message.body


def parse_chunk(message: Message) -> CsvChunk:
    """The chunk a message describes; a non-retryable DeliveryError if it is not a valid one."""
    body = message.body
    assert isinstance(body, dict)
    try:
        if body[MARKER] != VERSION:
            raise ValueError(f"chunk format {body[MARKER]!r} is not {VERSION}")
        system, file, mark = body["system"], body["file"], body["fingerprint"]
        if not all(isinstance(v, str) for v in (system, file, mark)):
            raise ValueError("`system`, `file` and `fingerprint` must be text")
        assert isinstance(system, str) and isinstance(file, str) and isinstance(mark, str)
        if message.source != system:
            raise ValueError(f"it names system {system!r} but came from {message.source!r}")
        start, end, rows = body["start"], body["end"], body["rows"]
        if not all(type(v) is int for v in (start, end, rows)):
            raise ValueError("`start`, `end` and `rows` must be integers")
        assert isinstance(start, int) and isinstance(end, int) and isinstance(rows, int)
        if not 0 <= start <= end:
            raise ValueError(f"bad byte range {start}..{end}")
        columns = body["columns"]
        if not isinstance(columns, list) or not columns or not all(isinstance(c, str) and c for c in columns):
            raise ValueError("`columns` must be a list of names")
        delimiter, quote, encoding = body["delimiter"], body["quote"], body["encoding"]
        if not isinstance(delimiter, str) or not isinstance(quote, str) or len(delimiter) != 1 or len(quote) != 1:
            raise ValueError("`delimiter` and `quote` must be single characters")
        if encoding not in set(ENCODINGS.values()):
            raise ValueError(f"unknown encoding {encoding!r}")
        assert isinstance(encoding, str)
        names = tuple(str(c) for c in columns)
        return CsvChunk(system, file, mark, start, end, rows, names, Dialect(delimiter, quote, encoding))
    except (KeyError, ValueError, TypeError) as exc:
        raise DeliveryError(f"not a valid CSV chunk message: {exc}", retryable=False) from None


def header(stream: BinaryIO, config: CsvFormat) -> tuple[list[str], int]:
    """The column names and the byte offset of the first data row."""
    if config.columns is not None:
        names = list(config.columns)
        if not config.header:
            return names, 0
    d = dialect_of(config)
    quote = d.quote.encode()
    taken: list[bytes] = []
    inside = False
    for line in stream:
        taken.append(line)
        inside ^= line.count(quote) % 2 == 1
        if not inside:
            break
    raw = b"".join(taken)
    row = next(csv.reader(io.StringIO(raw.decode(config.encoding)), delimiter=d.delimiter, quotechar=d.quote), [])
    return (list(config.columns) if config.columns is not None else row), len(raw)


def scan(stream: BinaryIO, start: int, chunk: int, quote: bytes) -> Iterator[tuple[int, int, int]]:
    """Chunks of the rows from byte `start` on: (start, end, rows), each at most `chunk` rows,
    the ends at row starts. A line is part of a row until the row's quotes are balanced (a
    doubled quote inside a quoted field counts twice, so the parity holds); blank lines between
    rows are left out of every chunk (they split it)."""
    stream.seek(start)
    offset = begin = start
    rows = 0
    inside = False
    for line in stream:
        if not inside and (line == b"\n" or line == b"\r\n"):
            if rows:
                yield begin, offset, rows
                rows = 0
            offset += len(line)
            begin = offset
            continue
        offset += len(line)
        if line.count(quote) % 2:
            inside = not inside
        if inside:
            continue
        rows += 1
        if rows >= chunk:
            yield begin, offset, rows
            begin, rows = offset, 0
    if rows:
        yield begin, offset, rows


def local_path(system: str, file: str) -> Path:
    """The archived file a chunk names, inside its files system's local folder (strict)."""
    from interlace.connectors.files.folder import LocalFolder, PathRefused

    connector = find(system)
    if connector is None or not isinstance(connector.folder, LocalFolder):
        raise DeliveryError(
            f"CSV chunk of {system!r}: no local files system of that name in the running config", retryable=False
        )
    try:
        return connector.folder.path(file)
    except PathRefused as exc:
        raise DeliveryError(f"CSV chunk of {system!r}: {exc}", retryable=False) from None


async def read_range(path: Path, start: int, end: int, block: int = 1 << 20) -> AsyncIterator[bytes]:
    """The bytes [start, end) of a file, a block at a time, read in a worker thread."""
    import asyncio

    stream = await asyncio.to_thread(path.open, "rb")
    try:
        await asyncio.to_thread(stream.seek, start)
        left = end - start
        while left > 0:
            data = await asyncio.to_thread(stream.read, min(block, left))
            if not data:
                raise DeliveryError(f"{path.name}: ends before byte {end}", retryable=False)
            left -= len(data)
            yield data
    finally:
        await asyncio.to_thread(stream.close)
