"""The items of a copybook, as a tree: groups hold children, elementary items hold a PIC."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from interlace.formats.copybook.picture import Picture

Usage = Literal["display", "binary", "native", "packed", "float", "double"]
"""DISPLAY; COMP/COMP-0/COMP-4/BINARY (`binary`, bounded by the PIC digits); COMP-5 (`native`, the
whole storage); COMP-3/PACKED-DECIMAL (`packed`); COMP-1 (`float`) and COMP-2 (`double`)."""
Sign = Literal["trailing", "leading", "trailing_separate", "leading_separate"]
Literal_ = str | int | Decimal
"""A VALUE literal: text, a number, or a figurative constant kept as its upper-case name."""


@dataclass
class Condition:
    """A level-88 condition name: true when the item's value is one of `values` (ranges inclusive)."""

    name: str
    values: list[tuple[Literal_, Literal_]]


@dataclass
class Item:
    level: int
    name: str
    line: int
    picture: Picture | None = None
    usage: Usage | None = None
    sign: Sign | None = None
    occurs: int | None = None
    occurs_min: int = 0
    depending_on: str | None = None
    redefines: str | None = None
    value: Literal_ | None = None
    explicit_sign: bool = False
    """The entry itself has a SIGN clause (not one inherited from its group)."""
    blank_when_zero: bool = False
    copy_file: str | None = None
    """The file the entry was read from when it came in through COPY (None: the copybook itself)."""
    children: list[Item] = field(default_factory=list)
    conditions: list[Condition] = field(default_factory=list)
    # Filled in by the layout:
    offset: int = 0
    """Offset of the first occurrence from the start of the record (static, ODO at its maximum)."""
    size: int = 0
    """Bytes of one occurrence."""
    redefined_by: list[Item] = field(default_factory=list)
    """For a redefined item: the items that redefine it, in order."""

    @property
    def is_filler(self) -> bool:
        return self.name.upper() == "FILLER"

    @property
    def is_group(self) -> bool:
        return self.picture is None

    @property
    def count(self) -> int:
        """Occurrences at most (1 without OCCURS)."""
        return 1 if self.occurs is None else self.occurs
