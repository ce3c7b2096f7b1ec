"""`format: {type: edifact, ...}`: who we are, our trading partners, and how what we send looks."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from interlace.options import ConfigPath, Options

SyntaxLevel = Literal["UNOA", "UNOB", "UNOC", "UNOD", "UNOE", "UNOF", "UNOW", "UNOY"]
ENCODINGS: dict[str, str] = {
    "UNOA": "ascii",
    "UNOB": "ascii",
    "UNOC": "latin-1",
    "UNOD": "iso8859_2",
    "UNOE": "iso8859_5",
    "UNOF": "iso8859_7",
    "UNOW": "utf-8",
    "UNOY": "utf-8",
}
"""The character set of each syntax level (UNB S001 0001)."""


class EdifactId(Options):
    """An interchange party: UNB S002/S003 (identification, code qualifier), and UNG's."""

    id: str = Field(min_length=1, max_length=35)
    qualifier: str | None = Field(None, max_length=4, description="14 GLN (EAN), 1 DUNS, ZZZ mutual, ...")
    group_id: str | None = Field(None, description="UNG sender/recipient (default: id)")

    @property
    def application(self) -> str:
        return self.group_id or self.id


class EdifactDelimiters(Options):
    """The service characters of what we send (UNA); what we read declares its own."""

    component: str = ":"
    element: str = "+"
    decimal: Literal[".", ","] = "."
    release: str = "?"
    repetition: str = "*"
    """Syntax version 4 only; version 3 sends a space (reserved) in its place."""
    segment: str = "'"
    newline: bool = False
    """A line break after each segment terminator (ignored when reading)."""
    una: bool = True
    """Start each interchange with UNA (it is needed when these differ from the defaults)."""

    @model_validator(mode="after")
    def _distinct(self) -> EdifactDelimiters:
        chars = [self.component, self.element, self.release, self.repetition, self.segment]
        for char in chars:
            if len(char) != 1 or char.isalnum() or char == " ":
                raise ValueError(f"{char!r}: a service character is one character, neither a letter, digit nor space")
        if len(set(chars)) != 5:
            raise ValueError("the component, element, release, repetition and segment characters must differ")
        return self


class EdifactPartner(EdifactId):
    """A trading partner: matched on the UNB sender of what arrives, the recipient of what we send."""

    syntax: SyntaxLevel = "UNOC"
    syntax_version: Literal["1", "2", "3", "4"] = "3"
    version: str = Field("D", description="UNH S009 0052, message version (D)")
    release: str = Field("96A", description="UNH S009 0054, release (96A, 01B, ...)")
    agency: str = "UN"
    association: str | None = Field(None, description="UNH S009 0057, e.g. EAN008 for EANCOM")
    delimiters: EdifactDelimiters = Field(default_factory=EdifactDelimiters)
    groups: bool = Field(False, description="Wrap messages in UNG/UNE functional groups.")
    acknowledge: Literal["always", "requested", "never"] = Field(
        "requested", description="Answer this partner's interchanges with CONTRL: always, when UNB asks, or never."
    )
    request_ack: bool = Field(False, description="Ask for a CONTRL on what we send (UNB 0031 = 1).")
    test: bool = Field(False, description="Mark what we send as a test (UNB 0035 = 1).")
    owner: str | None = None


class EdifactFormat(Options):
    """`format: {type: edifact, us: {...}, partners: {...}}`."""

    type: Literal["edifact"] = "edifact"
    us: EdifactId | None = Field(
        None, description="Our identity: the recipient of what we read, the sender of what we send."
    )
    partners: dict[str, EdifactPartner] = Field(default_factory=dict)
    control_numbers: ConfigPath | None = None
    hold: int = Field(8 << 20, ge=0, description="As for x12: memory an interchange may take before its UNZ.")
    check_characters: bool = Field(
        True, description="Refuse characters outside the declared syntax level (UNOA, UNOB)."
    )

    @field_validator("partners")
    @classmethod
    def _ids(cls, value: dict[str, EdifactPartner]) -> dict[str, EdifactPartner]:
        return value
