"""The fuzzed doors, each one function from bytes that must either answer or refuse in its own
words (a ParseError record, a ConfigError, a BodyRefused), never crash with anything else.

Shared by the bounded fuzz tests, the long ones (`-m long`) and the corpus replay."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from interlace.connectors.webhook.body import BodyRefused, parse_json, read_body
from interlace.errors import ConfigError, ParseError
from interlace.formats import Codec, codec_for, parse_format
from interlace.formats.limits import value_problem

COPYBOOK = (
    "       01  REC.\n"
    "           05  ID      PIC 9(4).\n"
    "           05  NAME    PIC X(6).\n"
    "           05  AMOUNT  PIC S9(5)V99 COMP-3.\n"
    "           05  QTY     PIC S9(3) SIGN LEADING SEPARATE.\n"
    "           05  COUNT   PIC 9(4) COMP.\n"
)
FORMATS: dict[str, Any] = {
    "csv": "csv",
    "csv-noheader": {"type": "csv", "header": False, "delimiter": ";"},
    "json": "json",
    "jsonl": "jsonl",
    "xml": {"type": "xml", "record_path": "orders/order"},
    "xml-any": {"type": "xml", "record_path": "*/*"},
    "fixedwidth": {
        "fields": [
            {"name": "id", "length": 5, "type": "int"},
            {"name": "name", "length": 6},
            {"name": "amount", "length": 8, "type": "decimal", "decimals": 2},
        ]
    },
    "fixedwidth-ebcdic": {
        "encoding": "cp037",
        "newline": "",
        "fields": [{"name": "id", "length": 4, "type": "int"}, {"name": "amount", "length": 6, "type": "decimal"}],
    },
    "copybook": {"copybook_text": COPYBOOK, "encoding": "cp037"},
    "copybook-ascii-rdw": {"copybook_text": COPYBOOK, "encoding": "ascii", "record_format": "rdw"},
    "x12": {"type": "x12", "partners": {"globex": {"id": "GLOBEX"}, "acme": {"id": "ACMEDIST"}}, "hold": 512},
    "edifact": {
        "type": "edifact",
        "partners": {"globex": {"id": "4012345000009", "acknowledge": "always"}},
        "hold": 512,
    },
}
_CODECS: dict[str, Codec] = {}


def codec(name: str) -> Codec:
    if name not in _CODECS:
        _CODECS[name] = codec_for(parse_format(FORMATS[name]))
    return _CODECS[name]


def decode(name: str, data: bytes) -> None:
    """Read every record of `data`; each is a value within the limits or a ParseError in place,
    and a fatal error (the framing broke) is the last record."""
    fatal = False
    for record in codec(name).read(io.BytesIO(data), name="fuzz"):
        assert not fatal, "a record after a fatal error"
        fatal = record.fatal
        if record.error is not None:
            assert isinstance(record.error, ParseError)
            assert record.value is None
            str(record.error)
        else:
            assert isinstance(record.value, dict)
            assert value_problem(record.value) is None, record.value


def body(data: bytes) -> None:
    """`parse_json` answers a value within the limits, or refuses with 400 or 422."""
    try:
        value = parse_json(data)
    except BodyRefused as exc:
        assert exc.status in (400, 422) and exc.message
        return
    assert value_problem(value) is None


def streamed(data: bytes, sizes: list[int], limit: int) -> None:
    """`read_body` over any chunking gives the body exactly, or 413 once it passes the limit."""
    chunks, rest = [], data
    for size in sizes:
        chunks.append(rest[:size])
        rest = rest[size:]
    chunks.append(rest)
    messages = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]

    async def receive() -> Any:
        return messages.pop(0)

    try:
        got = asyncio.run(read_body(receive, limit))
    except BodyRefused as exc:
        assert exc.status == 413 and len(data) > limit
        return
    assert got == data and len(data) <= limit


def config(folder: Path, text: bytes) -> None:
    """`load_config` of any file: a LoadedConfig, or a ConfigError listing problems."""
    from interlace.config.loader import load_config

    path = folder / "hub.yaml"
    path.write_bytes(text)
    try:
        load_config(path)
    except ConfigError as exc:
        assert exc.problems and all(str(p) for p in exc.problems)


TARGETS: dict[str, Callable[[bytes], None]] = {name: (lambda data, n=name: decode(n, data)) for name in FORMATS}
TARGETS["body"] = body
