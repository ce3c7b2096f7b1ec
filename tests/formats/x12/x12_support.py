"""X12 samples (samples/, written for these tests) and the format reading them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from formats.edi import edi_support
from formats.edi.edi_support import acks, documents
from interlace.formats.base import Record

SAMPLES = Path(__file__).parent / "samples"
PARTNERS = {"globex": {"id": "GLOBEX"}, "acme": {"id": "ACMEDIST"}}
__all__ = ["PARTNERS", "SAMPLES", "acks", "documents", "read", "segments", "write"]


def _config(extra: dict[str, Any]) -> dict[str, Any]:
    return {"type": "x12", "partners": PARTNERS, **extra}


def read(data: bytes, **extra: Any) -> list[Record]:
    return edi_support.read(_config(extra), data, "in.x12")


def write(records: list[dict[str, Any]], **extra: Any) -> bytes:
    return edi_support.write(_config(extra), records)


def segments(data: bytes, terminator: bytes = b"~") -> list[bytes]:
    """The segments of an X12 text, without line breaks around them or a BOM."""
    return [s.strip(b"\r\n") for s in data.lstrip(b"\xef\xbb\xbf").split(terminator) if s.strip(b"\r\n")]
