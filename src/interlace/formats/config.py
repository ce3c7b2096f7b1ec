"""The `format:` entry of a files system: one model per format, told apart by `type`.

Short forms are accepted: `format: csv` (a format with no options), and a mapping without `type`
that names a `copybook` (as in `format: {copybook: ./stock.cpy, encoding: cp037}`).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, TypeAdapter

from interlace.formats.copybook.config import CopybookFormat
from interlace.formats.csv import CsvFormat
from interlace.formats.edifact.config import EdifactFormat
from interlace.formats.fixedwidth import FixedWidthFormat
from interlace.formats.jsonl import JsonFormat, JsonLinesFormat
from interlace.formats.x12.config import X12Format
from interlace.formats.xml import XmlFormat


def _short_forms(value: Any) -> Any:
    if isinstance(value, str):
        return {"type": value}
    if isinstance(value, dict) and "type" not in value:
        if "copybook" in value or "copybook_text" in value:
            return {"type": "copybook", **value}
        if "fields" in value:
            return {"type": "fixedwidth", **value}
        if "record_path" in value:
            return {"type": "xml", **value}
    return value


FormatConfig = Annotated[
    CsvFormat
    | JsonFormat
    | JsonLinesFormat
    | XmlFormat
    | FixedWidthFormat
    | CopybookFormat
    | X12Format
    | EdifactFormat,
    Field(discriminator="type"),
    BeforeValidator(_short_forms),
]
"""Use as the type of a `format` field in a pydantic model."""

_ADAPTER: TypeAdapter[FormatConfig] = TypeAdapter(FormatConfig)


def parse_format(value: Any) -> FormatConfig:
    """Validate a `format:` value (a name or a mapping); raises pydantic.ValidationError."""
    return _ADAPTER.validate_python(value)
