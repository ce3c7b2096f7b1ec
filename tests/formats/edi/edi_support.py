"""What the X12 and EDIFACT tests share: reading and writing with a format config, and telling
documents from acknowledgements."""

from __future__ import annotations

import io
from typing import Any

from interlace.formats import Codec, codec_for, parse_format
from interlace.formats.base import Record


def codec(config: dict[str, Any]) -> Codec:
    return codec_for(parse_format(config))


def read(config: dict[str, Any], data: bytes, name: str) -> list[Record]:
    return list(codec(config).read(io.BytesIO(data), name=name))


def write(config: dict[str, Any], records: list[dict[str, Any]]) -> bytes:
    out = io.BytesIO()
    with codec(config).writer(out) as writer:
        for record in records:
            writer.write(record)
    return out.getvalue()


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
