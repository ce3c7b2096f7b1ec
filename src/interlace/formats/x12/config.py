"""`format: {type: x12, ...}`: who we are, our trading partners, and how what we send looks."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from interlace.options import ConfigPath, Options


class X12Id(Options):
    """An interchange identity: ISA05/ISA06 (sender) or ISA07/ISA08 (receiver), and GS02/GS03."""

    qualifier: str = Field("ZZ", min_length=2, max_length=2, description="ISA05/ISA07: 01 DUNS, 12 phone, ZZ mutual")
    id: str = Field(min_length=1, max_length=15, description="ISA06/ISA08")
    group_id: str | None = Field(None, min_length=2, max_length=15, description="GS02/GS03 (default: id)")

    @property
    def application(self) -> str:
        return self.group_id or self.id


class X12Delimiters(Options):
    """The separators of what we send (what we read declares its own in its ISA)."""

    element: str = "*"
    component: str = ">"
    segment: str = "~"
    repetition: str = "^"
    """ISA11 from version 00402 on; version 00401 sends the standards identifier U there instead."""
    newline: bool = True
    """A line break after each segment terminator (ignored when reading, as partners do)."""

    @model_validator(mode="after")
    def _distinct(self) -> X12Delimiters:
        chars = [self.element, self.component, self.segment, self.repetition]
        for char in chars:
            if len(char) != 1 or char.isalnum() or char == " ":
                raise ValueError(f"{char!r}: a delimiter is one character, neither a letter, a digit nor a space")
        if len(set(chars)) != 4:
            raise ValueError("the element, component, segment and repetition separators must differ")
        return self


class X12Partner(X12Id):
    """A trading partner: matched on the ISA sender of what arrives, and the receiver of what we send."""

    version: str = Field("00401", min_length=5, max_length=5, description="ISA12 of what we send")
    group_version: str = Field("004010", min_length=6, max_length=12, description="GS08 of what we send")
    usage: Literal["P", "T"] = Field("P", description="ISA15: production or test")
    delimiters: X12Delimiters = Field(default_factory=X12Delimiters)
    acknowledge: bool = Field(True, description="Answer each functional group this partner sends with a 997.")
    expect_ack: bool = Field(
        True, description="This partner answers what we send with a 997 (read as any set: see docs/edi.md)."
    )
    request_ta1: bool = Field(False, description="ISA14 = 1: ask for a TA1 interchange acknowledgement.")
    owner: str | None = Field(None, description="Who is told about this partner's problems (docs only).")


class X12Format(Options):
    """`format: {type: x12, us: {...}, partners: {...}}`."""

    type: Literal["x12"] = "x12"
    us: X12Id | None = Field(
        None, description="Our identity: the receiver of what we read, the sender of what we send."
    )
    partners: dict[str, X12Partner] = Field(default_factory=dict)
    encoding: str = "utf-8"
    control_numbers: ConfigPath | None = Field(
        None,
        description="A file keeping the last interchange, group and set control numbers sent to each partner "
        "(default: numbers start at 1 in each process).",
    )
    hold: int = Field(
        8 << 20,
        ge=0,
        description="Memory (estimated, in bytes) that an interchange's documents may take while they wait for its "
        "trailer to be checked; past it they wait in a temporary file.",
    )

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, value: str) -> str:
        import codecs

        codecs.lookup(value)
        return value
