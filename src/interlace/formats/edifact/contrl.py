"""CONTRL, the EDIFACT syntax and service report, for an interchange as read.

UCI answers the interchange: 7 (acknowledged: each message as its UCM says) or 4 (rejected:
UCI05 says why, UCI06 names the service segment, e.g. 28 references differ or 29 counts differ at
UNZ, 7 not for us, 2 syntax level not supported). Each message gets a UCM, 7 or 4 with the
syntax error code (0085) and, per segment in error, a UCS (its position from UNH = 1 and code)
with a UCD per element in error (code and element:component position).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from interlace.formats.edi.problems import ELEMENT_KINDS, Problem
from interlace.types import JSONObject

CODES = {
    "unrecognized_segment": "15",
    "unexpected_segment": "15",
    "missing_segment": "13",
    "loop_over_max": "36",
    "segment_over_max": "35",
    "missing_element": "13",
    "too_many_elements": "16",
    "too_short": "40",
    "too_long": "39",
    "invalid_character": "21",
    "invalid_code": "12",
    "invalid_date": "12",
    "invalid_time": "12",
    "invalid_number": "37",
}
DETAIL = 10_000
"""Messages listed one by one (a UCM each) in a CONTRL; past it, only those with problems."""


@dataclass
class MessageResult:
    reference: str
    identifier: list[str]
    accepted: bool = True
    code: str | None = None
    """UCM04 when rejected for its envelope (28 references, 29 count, ...)."""
    segment: str | None = None
    """UCM05: the service segment at fault (UNT)."""
    problems: list[Problem] = field(default_factory=list)


@dataclass
class InterchangeResult:
    reference: str
    sender: Any
    recipient: Any
    messages: list[MessageResult] = field(default_factory=list)
    received: int = 0
    code: str | None = None
    """UCI05 when the interchange is rejected."""
    segment: str | None = None

    def add(self, result: MessageResult) -> None:
        self.received += 1
        if self.received <= DETAIL or not result.accepted or result.problems:
            self.messages.append(result)
        if self.received == DETAIL + 1:
            self.messages = [m for m in self.messages if not m.accepted or m.problems]


def _segments(problems: list[Problem]) -> list[JSONObject]:
    by_segment: dict[int, list[Problem]] = {}
    for problem in problems:
        if problem.position is not None and (problem.kind in CODES):
            by_segment.setdefault(problem.position, []).append(problem)
    out = []
    for position, found in sorted(by_segment.items()):
        segment_level = next((p for p in found if p.kind not in ELEMENT_KINDS or p.element is None), None)
        ucs: JSONObject = {"UCS01": str(position)}
        if segment_level is not None:
            ucs["UCS02"] = CODES[segment_level.kind]
        entry: JSONObject = {"UCS": ucs}
        ucds = []
        for p in found:
            if p.kind in ELEMENT_KINDS and p.element is not None:
                where: Any = [str(p.element), str(p.component)] if p.component else str(p.element)
                ucds.append({"UCD01": CODES[p.kind], "UCD02": where})
        if ucds:
            entry["UCD"] = ucds[:99]
        out.append(entry)
    return out


def contrl(result: InterchangeResult) -> JSONObject:
    """The CONTRL document for an interchange as read."""
    uci: JSONObject = {
        "UCI01": result.reference or "0",
        "UCI02": result.sender or "?",
        "UCI03": result.recipient or "?",
        "UCI04": "4" if result.code else "7",
    }
    if result.code:
        uci["UCI05"] = result.code
        if result.segment:
            uci["UCI06"] = result.segment
    document: JSONObject = {"UCI": uci}
    loops = []
    for message in result.messages:
        ucm: JSONObject = {
            "UCM01": message.reference or "0",
            "UCM02": message.identifier or ["?"],
            "UCM03": "7" if message.accepted else "4",
        }
        first = next((p for p in message.problems if p.rejects), None)
        if message.code:
            ucm["UCM04"] = message.code
            if message.segment:
                ucm["UCM05"] = message.segment
        elif not message.accepted and first is not None:
            ucm["UCM04"] = CODES.get(first.kind, "18")
        entry: JSONObject = {"UCM": ucm}
        segments = _segments(message.problems)
        if segments:
            entry["SG2"] = segments
        loops.append(entry)
    if loops:
        document["SG1"] = loops
    return document
