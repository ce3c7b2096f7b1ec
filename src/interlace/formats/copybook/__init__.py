"""COBOL copybook records: parser, layout (offset table), code pages and the codec."""

from interlace.formats.copybook.codec import CopybookCodec
from interlace.formats.copybook.config import CopybookFormat, RedefineChoice

__all__ = ["CopybookCodec", "CopybookFormat", "RedefineChoice"]
