"""`format: {type: copybook, ...}`: how to find the layout, how the records are framed, and how
items are read. docs/files.md lists every option with its default and the reference readers'."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from interlace.options import ConfigPath, Options

ENCODINGS = (
    "cp037", "cp273", "cp277", "cp278", "cp280", "cp284", "cp285", "cp297", "cp500", "cp838",
    "cp870", "cp875", "cp1047", "cp1140", "cp1141", "cp1142", "cp1143", "cp1144", "cp1145",
    "cp1146", "cp1147", "cp1148",
)  # fmt: skip
"""The EBCDIC code pages tested here (each from Python's codecs or the pinned `ebcdic` package)."""


class RedefineChoice(Options):
    """Which of the items sharing storage (an item and its REDEFINES) a record holds."""

    field: str
    """The discriminator: an item decoded earlier in the record (its COBOL name)."""
    when: dict[str, str]
    """Discriminator value (as text, blanks stripped) -> name of the item to decode."""
    default: str | None = None
    """The item to decode when no value matches; None makes an unknown value a record error."""


class SegmentChoice(Options):
    """Several 01 records in one file, told apart by a segment-id field (JRecord's record selection,
    Cobrix's segment_field)."""

    field: str
    """The segment-id item, at the same place in every record type (found in the first record)."""
    records: dict[str, str]
    """Segment-id value (as text, blanks stripped) -> name of the 01 record laid over the bytes."""
    default: str | None = None
    """The 01 record for any other value; None makes an unknown value a record error."""


class CopybookFormat(Options):
    type: Literal["copybook"] = "copybook"
    copybook: ConfigPath | None = None
    """Path of the copybook file (relative to the config file)."""
    copybook_text: str | None = None
    """The copybook itself, inline, instead of a path."""
    copybook_library: list[ConfigPath] = []
    """Folders where `COPY member.` statements find their members (after the copybook's own folder)."""
    record: str | None = None
    """Which 01 level record to use when the copybook has several (default: the first)."""
    segments: SegmentChoice | None = None
    """Several record types in one file: the segment-id field picks the 01 record of each."""
    encoding: str = "cp037"
    """An EBCDIC code page (see ENCODINGS) or an ASCII-family encoding (ascii, latin-1, ...)."""
    record_format: Literal["fixed", "rdw", "rdw_bdw", "lines", "odo"] = "fixed"
    """fixed: back-to-back records of `record_length` (or of the length the record-length field
    gives); rdw: each record starts with a 4-byte Record Descriptor Word; rdw_bdw: blocks, each
    with a 4-byte Block Descriptor Word, of RDW records (RECFM=VB read with its BDWs); lines:
    records end with a newline (text-only layouts); odo: back-to-back records without RDW whose
    length follows from their OCCURS DEPENDING ON counts."""
    record_length: int | None = None
    """Bytes per fixed record; default: the layout's length (OCCURS DEPENDING ON at its maximum)."""
    record_length_field: str | None = None
    """An item near the start of each record that gives the record's length (fixed only)."""
    record_length_map: dict[str, int] = {}
    """Record-length field value -> record length, for a field that holds a code, not a length."""
    rdw_byteorder: Literal["big", "little"] = "big"
    rdw_includes_header: bool = True
    """The RDW's length counts its own 4 bytes (as z/OS writes it)."""
    rdw_adjustment: int = 0
    """Added to each RDW (or record-length field) length, for writers that count differently."""
    bdw_byteorder: Literal["big", "little"] = "big"
    bdw_adjustment: int = 0
    byteorder: Literal["big", "little"] = "big"
    """Byte order of COMP/COMP-4/COMP-5 items: big on mainframes, little for some PC COBOLs."""
    float_format: Literal["ibm", "ibm_little_endian", "ieee754", "ieee754_little_endian"] = "ibm"
    """COMP-1/COMP-2: IBM hexadecimal floating point, or IEEE 754 binary floating point."""
    trim: Literal["none", "left", "right", "both"] = "right"
    """Which blanks of text items are removed."""
    strip: bool | None = None
    """Older spelling: `strip: false` is `trim: none`, `strip: true` is `trim: right`."""
    control_characters: Literal["keep", "blank"] = "keep"
    """Control characters in text items (EBCDIC bytes below X'40'): kept, or shown as blanks."""
    low_values: Literal["keep", "blank", "null"] = "keep"
    """X'00' bytes in text items: kept, shown as blanks, or an all-X'00' item reads as null."""
    blank_numeric: Literal["error", "null", "zero"] = "error"
    """What a DISPLAY or packed number that is all blanks or low-values reads as."""
    fillers: Literal["drop", "keep"] = "drop"
    """FILLER items: left out, or kept as FILLER-AFTER-<previous item> (Cobrix's naming)."""
    redefines: dict[str, RedefineChoice] = {}
    """Keyed by the name of the redefined (original) item. Without an entry the original is read."""
    redefines_view: Literal["active", "all"] = "active"
    """active: of an item and its REDEFINES only the chosen one (or the original) is read; all:
    every one is read from the same bytes, one that does not decode being null."""
    variable_size_occurs: bool = True
    """The items after an OCCURS DEPENDING ON follow its actual elements (COBOL's placement); false:
    the table always takes its maximum size."""
    odo_below_minimum: Literal["error", "accept"] = "error"
    """A DEPENDING ON count below the OCCURS minimum: a record error, or that many elements."""
    errors: Literal["record", "field"] = "record"
    """record: an item that does not decode makes the whole record bad (kept in error/); field:
    that item is null, its reason goes in the record's `_errors` list, the rest is kept."""
    conditions: bool = True
    """Add each level-88 condition name as a boolean beside its item."""
    names: Literal["cobol", "snake"] = "cobol"
    """Keys as written in the copybook (CUST-ID) or snake case (cust_id)."""
    errors_key: str = Field(default="_errors", min_length=1)
    """The key of the field-error list (with `errors: field`)."""

    @model_validator(mode="after")
    def _source(self) -> CopybookFormat:
        if (self.copybook is None) == (self.copybook_text is None):
            raise ValueError("give exactly one of copybook (a path) or copybook_text")
        if self.strip is not None:
            self.trim = "right" if self.strip else "none"
        if self.record_length_field is not None and self.record_format != "fixed":
            raise ValueError("record_length_field is for record_format: fixed")
        return self
