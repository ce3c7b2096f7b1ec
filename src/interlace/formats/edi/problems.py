"""A problem found in an EDI document, with where it is: the interchange, group and message (or
transaction set) it belongs to, the segment's position and tag, the element and component.

`kind` names the problem in words common to both standards; each acknowledgement maps it to its
own code (X12 997 AK304/AK403, EDIFACT CONTRL syntax error codes, 0085)."""

from __future__ import annotations

from dataclasses import dataclass

SEGMENT_KINDS = {
    "unrecognized_segment",
    "unexpected_segment",
    "missing_segment",
    "loop_over_max",
    "segment_over_max",
}
ELEMENT_KINDS = {
    "missing_element",
    "too_many_elements",
    "too_short",
    "too_long",
    "invalid_character",
    "invalid_code",
    "invalid_date",
    "invalid_time",
    "invalid_number",
}
WARNINGS = {"unrecognized_segment", "unexpected_segment"}
"""Kinds that leave a document accepted (with errors noted): the segment is kept aside, the rest
is read as defined. Every other kind rejects the document."""


@dataclass(frozen=True, slots=True)
class Problem:
    kind: str
    message: str
    segment: str | None = None
    """The segment's tag."""
    position: int | None = None
    """The segment's position in its transaction set or message, the header (ST, UNH) being 1."""
    element: int | None = None
    component: int | None = None
    value: str | None = None
    loop: str | None = None

    @property
    def rejects(self) -> bool:
        return self.kind not in WARNINGS

    @property
    def field(self) -> str | None:
        """`BEG03`, `NAD02-1`: the element (and component) as EDI guides name them."""
        if self.segment is None or self.element is None:
            return self.segment
        name = f"{self.segment}{self.element:02d}"
        return f"{name}-{self.component}" if self.component is not None else name

    def where(self) -> str:
        parts = []
        if self.position is not None:
            parts.append(f"segment {self.position} ({self.segment})" if self.segment else f"segment {self.position}")
        elif self.segment:
            parts.append(f"segment {self.segment}")
        if self.element is not None:
            parts.append(f"element {self.field}")
        return ", ".join(parts)

    def __str__(self) -> str:
        where = self.where()
        return f"{where}: {self.message}" if where else self.message

    def as_json(self) -> dict[str, object]:
        out: dict[str, object] = {"kind": self.kind, "message": self.message}
        for name in ("segment", "position", "element", "component", "value", "loop"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.element is not None:
            out["field"] = self.field
        return out
