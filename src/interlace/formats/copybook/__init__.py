"""COBOL copybook records: parser, layout (offset table), code pages and the codec.

The codec is imported on first use: a config names the format (`.config`, which the config
models import) far more often than a process reads or writes it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from interlace.formats.copybook.config import CopybookFormat, RedefineChoice

if TYPE_CHECKING:
    from interlace.formats.copybook.codec import CopybookCodec

__all__ = ["CopybookCodec", "CopybookFormat", "RedefineChoice"]


def __getattr__(name: str) -> Any:
    if name == "CopybookCodec":
        from interlace.formats.copybook.codec import CopybookCodec

        return CopybookCodec
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
