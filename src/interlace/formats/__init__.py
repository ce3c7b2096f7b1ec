"""Record formats: one streaming codec per format, chosen from a `format:` config entry."""

from interlace.formats.base import Codec, Record, RecordWriter
from interlace.formats.config import FormatConfig, parse_format
from interlace.formats.registry import codec_for

__all__ = ["Codec", "FormatConfig", "Record", "RecordWriter", "codec_for", "parse_format"]
