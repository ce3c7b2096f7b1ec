"""X12 samples (samples/, written for these tests) and the formats reading them."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from interlace.formats import codec_for, parse_format
from interlace.formats.base import Record
from interlace.formats.x12.codec import X12Codec

SAMPLES = Path(__file__).parent / "samples"
PARTNERS = {"globex": {"id": "GLOBEX"}, "acme": {"id": "ACMEDIST"}}


def codec(**extra: Any) -> X12Codec:
    made = codec_for(parse_format({"type": "x12", "partners": PARTNERS, **extra}))
    assert isinstance(made, X12Codec)
    return made


def read(data: bytes, **extra: Any) -> list[Record]:
    return list(codec(**extra).read(io.BytesIO(data), name="in.x12"))


def write(records: list[dict[str, Any]], **extra: Any) -> bytes:
    out = io.BytesIO()
    with codec(**extra).writer(out) as writer:
        for record in records:
            writer.write(record)
    return out.getvalue()


def segments(data: bytes, terminator: bytes = b"~") -> list[bytes]:
    """The segments of an X12 text, without line breaks around them or a BOM."""
    return [s.strip(b"\r\n") for s in data.lstrip(b"\xef\xbb\xbf").split(terminator) if s.strip(b"\r\n")]


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
