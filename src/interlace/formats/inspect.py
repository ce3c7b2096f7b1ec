"""`interlace inspect-file`: the first records of a file as JSON, and the layout's offset table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from interlace.formats.base import jsonable
from interlace.formats.config import FormatConfig, parse_format
from interlace.formats.registry import codec_for
from interlace.types import JSONObject


def inspect_file(
    path: str | Path,
    format_config: FormatConfig | str | dict[str, Any],
    limit: int = 10,
    base_dir: Path | None = None,
) -> tuple[list[JSONObject], list[JSONObject] | None]:
    """Read up to `limit` records of `path`; returns (records as JSON, offset table or None).

    `format_config` is a parsed `FormatConfig` (a system's `format`, paths already resolved by the
    config loader) or what a `format:` entry may say (`"csv"`, `{"copybook": "x.cpy",
    "encoding": "cp037"}`), whose relative copybook path is taken from `base_dir` (default: the
    current folder). A bad record appears in place as
    `{"$error": {"record": n, "offset": byte, "field": name, "message": text}}`.
    Raises pydantic.ValidationError for a bad format and ParseError for a bad copybook.
    """
    file = Path(path)
    config = format_config if not isinstance(format_config, str | dict) else parse_format(format_config)
    codec = codec_for(config, base_dir=base_dir)
    records: list[JSONObject] = []
    with file.open("rb") as stream:
        for record in codec.read(stream, name=str(file)):
            if len(records) >= limit:
                break
            if record.error is not None:
                error = record.error
                records.append(
                    {
                        "$error": {
                            "record": error.record,
                            "offset": error.offset,
                            "field": error.field,
                            "message": error.reason,
                        }
                    }
                )
            else:
                records.append(jsonable(record.value))
    return records, codec.offset_table()
