"""ANSI X12: interchanges, functional groups and transaction sets 850, 855, 856, 810 and 997.

The codec is imported on first use: a config names the format (`.config`, which the config
models import) far more often than a process reads or writes it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from interlace.formats.x12.config import X12Delimiters, X12Format, X12Id, X12Partner

if TYPE_CHECKING:
    from interlace.formats.x12.codec import X12Codec

__all__ = ["X12Codec", "X12Delimiters", "X12Format", "X12Id", "X12Partner"]


def __getattr__(name: str) -> Any:
    if name == "X12Codec":
        from interlace.formats.x12.codec import X12Codec

        return X12Codec
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
