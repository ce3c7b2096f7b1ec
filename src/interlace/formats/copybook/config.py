"""`format: {type: copybook, ...}`: how to find the layout and how the records are framed."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from interlace.options import ConfigPath, Options


class RedefineChoice(Options):
    """Which of the items sharing storage (an item and its REDEFINES) a record holds."""

    field: str
    """The discriminator: an item decoded earlier in the record (its COBOL name)."""
    when: dict[str, str]
    """Discriminator value (as text, blanks stripped) -> name of the item to decode."""
    default: str | None = None
    """The item to decode when no value matches; None makes an unknown value a record error."""


class CopybookFormat(Options):
    type: Literal["copybook"] = "copybook"
    copybook: ConfigPath | None = None
    """Path of the copybook file (relative to the config file)."""
    copybook_text: str | None = None
    """The copybook itself, inline, instead of a path."""
    record: str | None = None
    """Which 01 level record to use when the copybook has several (default: the first)."""
    encoding: str = "cp037"
    """cp037, cp500, cp273, cp1047 (EBCDIC) or ascii, latin-1, ... (ASCII family)."""
    record_format: Literal["fixed", "rdw", "lines"] = "fixed"
    """fixed: back-to-back records of `record_length`; rdw: each record starts with a 4-byte
    Record Descriptor Word (big-endian length including the RDW, then two zero bytes);
    lines: records end with a newline (text-only layouts)."""
    record_length: int | None = None
    """Bytes per fixed record; default: the layout's length (OCCURS DEPENDING ON at its maximum)."""
    byteorder: Literal["big", "little"] = "big"
    """Byte order of COMP/COMP-4/COMP-5 items: big on mainframes, little for some PC COBOLs."""
    strip: bool = True
    """Strip trailing blanks from text items."""
    blank_numeric: Literal["error", "null", "zero"] = "error"
    """What a DISPLAY or packed number that is all blanks or low-values reads as."""
    redefines: dict[str, RedefineChoice] = {}
    """Keyed by the name of the redefined (original) item. Without an entry the original is read."""
    conditions: bool = True
    """Add each level-88 condition name as a boolean beside its item."""
    names: Literal["cobol", "snake"] = "cobol"
    """Keys as written in the copybook (CUST-ID) or snake case (cust_id)."""

    @model_validator(mode="after")
    def _source(self) -> CopybookFormat:
        if (self.copybook is None) == (self.copybook_text is None):
            raise ValueError("give exactly one of copybook (a path) or copybook_text")
        return self
