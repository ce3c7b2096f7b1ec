"""Maps a format config to its codec. The copybook, X12 and EDIFACT codecs (a parser, a reader
and a writer each, a tenth of a second to import together) are imported when a config names one."""

from __future__ import annotations

from pathlib import Path

from interlace.formats.base import Codec
from interlace.formats.config import FormatConfig
from interlace.formats.copybook.config import CopybookFormat
from interlace.formats.csv import CsvCodec, CsvFormat
from interlace.formats.edifact.config import EdifactFormat
from interlace.formats.fixedwidth import FixedWidthCodec, FixedWidthFormat
from interlace.formats.jsonl import JsonCodec, JsonFormat, JsonLinesCodec, JsonLinesFormat
from interlace.formats.x12.config import X12Format
from interlace.formats.xml import XmlCodec, XmlFormat


def codec_for(config: FormatConfig, base_dir: Path | None = None) -> Codec:
    """The codec a format config describes; `base_dir` resolves relative paths (the copybook)."""
    if isinstance(config, CsvFormat):
        return CsvCodec(config)
    if isinstance(config, JsonFormat):
        return JsonCodec(config)
    if isinstance(config, JsonLinesFormat):
        return JsonLinesCodec(config)
    if isinstance(config, XmlFormat):
        return XmlCodec(config)
    if isinstance(config, FixedWidthFormat):
        return FixedWidthCodec(config)
    if isinstance(config, CopybookFormat):
        from interlace.formats.copybook.codec import CopybookCodec

        return CopybookCodec(config, base_dir)
    if isinstance(config, X12Format):
        from interlace.formats.x12.codec import X12Codec

        return X12Codec(config)
    if isinstance(config, EdifactFormat):
        from interlace.formats.edifact.codec import EdifactCodec

        return EdifactCodec(config)
    raise TypeError(f"no codec for {type(config).__name__}")
