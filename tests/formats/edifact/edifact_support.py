"""EDIFACT samples (samples/, written for these tests) and the formats reading them."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from interlace.formats import codec_for, parse_format
from interlace.formats.base import Record
from interlace.formats.edifact.codec import EdifactCodec

SAMPLES = Path(__file__).parent / "samples"
PARTNERS: dict[str, Any] = {
    "globex": {"id": "4012345000009", "qualifier": "14"},
    "acme": {"id": "5412345000013", "qualifier": "14"},
}


def codec(**extra: Any) -> EdifactCodec:
    made = codec_for(parse_format({"type": "edifact", "partners": PARTNERS, **extra}))
    assert isinstance(made, EdifactCodec)
    return made


def read(data: bytes, **extra: Any) -> list[Record]:
    return list(codec(**extra).read(io.BytesIO(data), name="in.edi"))


def write(records: list[dict[str, Any]], **extra: Any) -> bytes:
    out = io.BytesIO()
    with codec(**extra).writer(out) as writer:
        for record in records:
            writer.write(record)
    return out.getvalue()


def segments(data: bytes, terminator: bytes = b"'") -> list[bytes]:
    """The segments of an EDIFACT text without line breaks (no escaped terminators in them)."""
    return [s.strip(b"\r\n") for s in data.split(terminator) if s.strip(b"\r\n")]


def documents(records: list[Record]) -> list[dict[str, Any]]:
    out = []
    for record in records:
        assert record.error is None, record.error
        assert record.value is not None
        if record.value["kind"] == "document":
            out.append(record.value)
    return out


def acks(records: list[Record]) -> list[dict[str, Any]]:
    return [r.value for r in records if r.value is not None and r.value["kind"] == "acknowledgement"]
