"""EDIFACT samples (samples/, written for these tests) and the format reading them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from formats.edi import edi_support
from formats.edi.edi_support import acks, documents
from interlace.formats.base import Record

SAMPLES = Path(__file__).parent / "samples"
PARTNERS: dict[str, Any] = {
    "globex": {"id": "4012345000009", "qualifier": "14"},
    "acme": {"id": "5412345000013", "qualifier": "14"},
}
__all__ = ["PARTNERS", "SAMPLES", "acks", "documents", "read", "segments", "write"]


def _config(extra: dict[str, Any]) -> dict[str, Any]:
    return {"type": "edifact", "partners": PARTNERS, **extra}


def read(data: bytes, **extra: Any) -> list[Record]:
    return edi_support.read(_config(extra), data, "in.edi")


def write(records: list[dict[str, Any]], **extra: Any) -> bytes:
    return edi_support.write(_config(extra), records)


def segments(data: bytes, terminator: bytes = b"'") -> list[bytes]:
    """The segments of an EDIFACT text without line breaks (no escaped terminators in them)."""
    return [s.strip(b"\r\n") for s in data.split(terminator) if s.strip(b"\r\n")]
