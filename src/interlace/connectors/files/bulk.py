"""Bulk load of CSV files into PostgreSQL: one message per chunk of a file, not one per record.

With `trigger: {system: drop, pattern: "*.csv", bulk: true, chunk: 50000}` on a local `files`
system whose format is CSV, the source does not decode records. It takes a complete file, stores
its intent (the cursor), moves the file to `archive/` (a stable path from then on), scans it for
row boundaries (byte offsets at the start of a row, quote-aware: a quoted field may hold
newlines) and submits ONE message per chunk of about `chunk` rows, with the cursor (the byte
offset reached) in the same hub transaction and an idempotency key per chunk:

    {"interlace_chunk": 1, "kind": "csv", "system": "drop", "file": "archive/orders.csv",
     "fingerprint": "1f4a-17c...", "start": 38, "end": 5120044, "rows": 50000,
     "columns": ["id", "name", ...], "delimiter": ",", "quote": "\\"", "encoding": "UTF8"}

(event `chunk`). The chunk format and the registry of the systems chunks come from are
connectors/bulk.py's, shared with the PostgreSQL bulk sync. The `postgres` sink recognises it by
its event, the marker key and its `source` being the `files` system the body names (a local
folder of the same running config), reads the
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
from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO

from interlace.connectors.bulk import ENCODINGS, Dialect

if TYPE_CHECKING:
    from interlace.formats.csv import CsvFormat


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


