"""UN/EDIFACT: interchanges, groups and messages ORDERS, DESADV, INVOIC and CONTRL.

The codec is imported on first use: a config names the format (`.config`, which the config
models import) far more often than a process reads or writes it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from interlace.formats.edifact.config import EdifactDelimiters, EdifactFormat, EdifactId, EdifactPartner

if TYPE_CHECKING:
    from interlace.formats.edifact.codec import EdifactCodec

__all__ = ["EdifactCodec", "EdifactDelimiters", "EdifactFormat", "EdifactId", "EdifactPartner"]


def __getattr__(name: str) -> Any:
    if name == "EdifactCodec":
        from interlace.formats.edifact.codec import EdifactCodec

        return EdifactCodec
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
