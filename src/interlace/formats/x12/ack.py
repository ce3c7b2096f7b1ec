"""X12 acknowledgements: the 997 for a functional group, the TA1 for an interchange.

A 997 says, per transaction set, accepted (AK501 A), accepted with errors noted (E) or rejected
(R) with why (AK502: 1 not supported, 2 SE missing, 3 ST02/SE02 differ, 4 SE01 count wrong,
5 segments in error), and per segment in error an AK3 (its tag, position and AK304 code) with
an AK4 per element in error (its position, AK403 code and a copy of the bad value). AK9 sums
the group up: A, E, P (some rejected) or R, with AK905 codes for the group's own envelope.
A TA1 answers the interchange: TA104 A or R, and TA105 the reason (001 IEA02/ISA13 differ,
008 not for us, 021 IEA01 count wrong, 023 cut short, 024 bad content).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from interlace.formats.edi.problems import ELEMENT_KINDS, Problem
from interlace.types import JSONObject

SEGMENT_CODES = {
    "unrecognized_segment": "1",
    "unexpected_segment": "2",
    "missing_segment": "3",
    "loop_over_max": "4",
    "segment_over_max": "5",
}
ELEMENT_CODES = {
    "missing_element": "1",
    "too_many_elements": "3",
    "too_short": "4",
    "too_long": "5",
    "invalid_character": "6",
    "invalid_code": "7",
    "invalid_date": "8",
    "invalid_time": "9",
    "invalid_number": "6",
}


@dataclass
class SetResult:
    id: str
    control: str
    status: str = "A"
    codes: list[str] = field(default_factory=list)
    """AK502..: why the set was rejected."""
    problems: list[Problem] = field(default_factory=list)


DETAIL = 10_000
"""A 997 lists every set of a group (an AK2 loop each) up to this many sets; past it, only the sets
with problems (the AK9 counts still cover all), so the reply to a huge group stays small."""


@dataclass
class Group:
    index: int
    header: JSONObject
    code: str
    control: str
    offset: int
    sets: list[SetResult] = field(default_factory=list)
    """The sets the 997 lists."""
    received: int = 0
    accepted: int = 0
    noted: int = 0
    """Sets accepted with errors noted."""
    declared: int | None = None
    codes: list[str] = field(default_factory=list)
    """AK905..: why the group was rejected."""
    closed: bool = False
    controls: set[str] = field(default_factory=set)
    """The ST02s seen in the group (one used twice is rejected: AK502 23)."""

    def add(self, result: SetResult) -> None:
        self.received += 1
        if result.status in ("A", "E"):
            self.accepted += 1
        if result.status == "E":
            self.noted += 1
        if self.received <= DETAIL or result.status != "A":
            self.sets.append(result)
        if self.received == DETAIL + 1:  # from here on, the clean ones are counted only
            self.sets = [r for r in self.sets if r.status != "A"]


def _segment_loops(result: SetResult) -> list[JSONObject]:
    by_segment: dict[tuple[int, str], list[Problem]] = {}
    for problem in result.problems:
        if problem.position is None or problem.segment is None:
            continue
        if problem.kind in SEGMENT_CODES or problem.kind in ELEMENT_KINDS:
            by_segment.setdefault((problem.position, problem.segment), []).append(problem)
    loops = []
    for (position, tag), problems in sorted(by_segment.items()):
        seg_problem = next((p for p in problems if p.kind in SEGMENT_CODES), None)
        ak3: JSONObject = {"AK301": tag, "AK302": str(position)}
        loop = next((p.loop for p in problems if p.loop), None)
        if loop:
            ak3["AK303"] = loop[:6]
        ak3["AK304"] = SEGMENT_CODES[seg_problem.kind] if seg_problem is not None else "8"
        entry: JSONObject = {"AK3": ak3}
        ak4s = []
        for p in problems:
            if p.kind not in ELEMENT_KINDS or p.element is None:
                continue
            ak4: JSONObject = {
                "AK401": [str(p.element), str(p.component)] if p.component else str(p.element),
                "AK403": ELEMENT_CODES[p.kind],
            }
            if p.value:
                ak4["AK404"] = _printable(p.value)
            ak4s.append(ak4)
        if ak4s:
            entry["AK4"] = ak4s[:99]
        loops.append(entry)
    return loops


def _printable(value: str) -> str:
    return "".join(c if c.isprintable() and c not in "*~>^:|" else "?" for c in value)[:99]


def acknowledgement(group: Group) -> JSONObject:
    """The 997 document (AK1, AK2 loops, AK9) for a functional group as read."""
    loops = []
    for result in group.sets:
        ak5: JSONObject = {"AK501": result.status}
        for i, code in enumerate(dict.fromkeys(result.codes)):
            if i < 5:
                ak5[f"AK5{i + 2:02d}"] = code
        entry: JSONObject = {"AK2": {"AK201": result.id[:3] or "???", "AK202": result.control or "0000"}}
        segments = _segment_loops(result)
        if segments:
            entry["AK3_loop"] = segments
        entry["AK5"] = ak5
        loops.append(entry)
    accepted, received = group.accepted, group.received
    if group.codes:
        status = "R"
    elif accepted == received:
        status = "E" if group.noted else "A"
    else:
        status = "P" if accepted else "R"
    ak9: JSONObject = {
        "AK901": status,
        "AK902": str(group.declared if group.declared is not None else received),
        "AK903": str(received),
        "AK904": str(accepted),
    }
    for i, code in enumerate(dict.fromkeys(group.codes)):
        if i < 5:
            ak9[f"AK9{i + 5:02d}"] = code
    document: JSONObject = {"AK1": {"AK101": group.code or "??", "AK102": group.control or "0"}}
    if loops:
        document["AK2_loop"] = loops
    document["AK9"] = ak9
    return document


def interchange_ack(header: JSONObject, code: str | None, now: float | None = None) -> JSONObject:
    """The TA1 for an interchange: accepted (`code` None) or rejected with TA105 `code`."""
    stamp = time.gmtime(now if now is not None else time.time())
    ta1: JSONObject = {
        "TA101": str(header.get("control", "")),
        "TA102": str(header.get("date") or time.strftime("%y%m%d", stamp)),
        "TA103": str(header.get("time") or time.strftime("%H%M", stamp)),
        "TA104": "R" if code else "A",
        "TA105": code or "000",
    }
    return {"TA1": ta1}
