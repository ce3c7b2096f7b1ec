"""Bulk moves, one mechanism for every connector that makes or takes chunks: one message per chunk
of a source's data instead of one per record.

A chunk message has event `chunk` and a body that starts with the marker key `interlace_chunk`
(its value: the chunk format version, 1), the chunk's `kind` and `system`, the system it came
from, which must be the message's `source`:

- `rows`: a range of a PostgreSQL table's cursor column, copied from table to table
  (made and taken by connectors/postgres/bulk.py);
- `csv`: a byte range of a CSV file archived in a local `files` folder (made by
  connectors/files/source.py, loaded by the `postgres` sink; its body is `CsvChunk` below).

The sink that takes a chunk finds the system it came from, in this process, through one registry
(`register`, `find`): a chunk names its origin, it never carries a connection or a path of its own.

Chunks stored before this format are still read: a `rows` chunk had no `kind`, a `csv` chunk was
marked `interlace_csv_chunk`.
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from interlace.errors import DeliveryError
from interlace.message import Message
from interlace.types import JSONObject

MARKER = "interlace_chunk"
"""The body key (value: the chunk format version) that marks a chunk message."""
EVENT = "chunk"
"""The event of a chunk message."""
VERSION = 1
_OLD_CSV_MARKER = "interlace_csv_chunk"

Kind = Literal["rows", "csv"]

_origins: weakref.WeakValueDictionary[tuple[str, str, str], Any] = weakref.WeakValueDictionary()


def register(kind: Kind, system: str, origin: object, identity: str = "") -> None:
    """Make a system of this process (`origin`: what a sink reads the chunk from) reachable by the
    sinks that take its chunks of `kind`. `identity` tells apart two systems of one name (another
    config in the same process)."""
    _origins[(kind, system, identity)] = origin


def find(kind: Kind, system: str, identity: str = "") -> Any:
    """What `register` was given for this system, or None."""
    return _origins.get((kind, system, identity))


def envelope(kind: Kind, system: str) -> JSONObject:
    """The keys every chunk body starts with."""
    return {MARKER: VERSION, "kind": kind, "system": system}


def kind_of(message: Message) -> str | None:
    """The kind of chunk `message` is (possibly one this version does not know), or None when it
    is not a chunk but a record."""
    body = message.body
    if message.event != EVENT or not isinstance(body, dict):
        return None
    if MARKER in body:
        kind = body.get("kind", "rows")
        return kind if isinstance(kind, str) else repr(kind)
    return "csv" if _OLD_CSV_MARKER in body else None


def is_chunk(message: Message) -> bool:
    return kind_of(message) is not None


def chunk_system(message: Message, kind: Kind) -> str:
    """The system a chunk of `kind` names, checked: the format version, the kind, and that the
    chunk came from that system. ValueError when it is not valid."""
    body = message.body
    assert isinstance(body, dict)
    version = body[MARKER] if MARKER in body else body[_OLD_CSV_MARKER]
    if version != VERSION:
        raise ValueError(f"chunk format {version!r} is not {VERSION}")
    if kind_of(message) != kind:
        raise ValueError(f"it is a chunk of kind {kind_of(message)!r}, not {kind!r}")
    system = body["system"]
    if not isinstance(system, str):
        raise ValueError("`system` must be text")
    if message.source != system:
        raise ValueError(f"it names system {system!r} but came from {message.source!r}")
    return system


# The CSV chunk: a byte range of a file archived in a local `files` folder.

ENCODINGS = {
    "utf-8": "UTF8", "utf8": "UTF8", "utf_8": "UTF8", "ascii": "SQL_ASCII", "us-ascii": "SQL_ASCII",
    "latin-1": "LATIN1", "latin1": "LATIN1", "iso-8859-1": "LATIN1", "iso8859-1": "LATIN1",
    "cp1252": "WIN1252", "windows-1252": "WIN1252", "iso-8859-15": "LATIN9", "latin-9": "LATIN9",
}  # fmt: skip
"""Python encoding names (the files format's `encoding`) a bulk load accepts, as PostgreSQL names.
All are ASCII-compatible single-byte or UTF-8, so a quote or newline byte is always one."""


@dataclass(frozen=True)
class Dialect:
    delimiter: str
    quote: str
    encoding: str
    """The PostgreSQL name."""


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
            **envelope("csv", self.system), "file": self.file, "fingerprint": self.fingerprint,
            "start": self.start, "end": self.end, "rows": self.rows, "columns": list(self.columns),
            "delimiter": self.dialect.delimiter, "quote": self.dialect.quote, "encoding": self.dialect.encoding,
        }  # fmt: skip

    def describe(self) -> JSONObject:
        return {"system": self.system, "file": self.file, "start": self.start, "end": self.end}


def parse_csv_chunk(message: Message) -> CsvChunk:
    """The chunk a message describes; a non-retryable DeliveryError if it is not a valid one."""
    body = message.body
    assert isinstance(body, dict)
    try:
        system = chunk_system(message, "csv")
        file, mark = body["file"], body["fingerprint"]
        if not isinstance(file, str) or not isinstance(mark, str):
            raise ValueError("`file` and `fingerprint` must be text")
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


def local_path(system: str, file: str) -> Path:
    """The archived file a chunk names, inside its files system's local folder (strict)."""
    from interlace.connectors.files.folder import LocalFolder, PathRefused

    folder = find("csv", system)
    if not isinstance(folder, LocalFolder):
        raise DeliveryError(
            f"CSV chunk of {system!r}: no local files system of that name in the running config", retryable=False
        )
    try:
        return folder.path(file)
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


Problem = tuple[tuple[str | int, ...], str]
"""A config problem: its YAML path (below the flow) and what is wrong."""


def bulk_flow_problems(flow: Any, deliveries: Sequence[tuple[str | None, Any]]) -> list[Problem]:
    """What every bulk trigger (a PostgreSQL table or a CSV file) needs of its flow: no steps, and
    deliveries only into PostgreSQL, in a mode other than delete."""
    problems: list[Problem] = []
    if flow.steps:
        problems.append(
            (("steps",), "a `bulk: true` trigger moves chunks of rows, not messages: the flow can have no steps")
        )
    if not deliveries:
        problems.append((("trigger", "bulk"), "a `bulk: true` trigger needs a `postgres` delivery"))
    for i, (connector, options) in enumerate(deliveries):
        if connector is not None and connector != "postgres":
            problems.append(
                (("deliver", i, "system"), f"a `bulk: true` trigger can only deliver to postgres, not {connector}")
            )
        elif getattr(options, "mode", None) == "delete":
            problems.append((("deliver", i, "mode"), "a `bulk: true` trigger cannot deliver in mode delete"))
    return problems
