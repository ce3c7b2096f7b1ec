"""Reads X12 interchanges into records: one per transaction set, then a 997 per functional group.

Envelopes are checked as they close: SE01 (segments counted from ST to SE) and SE02 against ST02,
GE01 (sets) and GE02 against GS06, IEA01 (groups) and IEA02 against ISA13. Each set's body is
matched to its spec (`sets.py`) and validated. The records of an interchange are held (`Spool`)
until its IEA: a set whose set, group or interchange was rejected comes out as an error record
naming the interchange, the segment position and the element; the rest as values. Then, for each
functional group from a partner that expects acknowledgements, a record holding the 997 to send
back (`kind: acknowledgement`), ready for the x12 writer.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from interlace.errors import ParseError
from interlace.formats.base import Record
from interlace.formats.edi.problems import Problem
from interlace.formats.edi.spool import Spool
from interlace.formats.edi.tree import RawSegment, TreeBuilder
from interlace.formats.x12.ack import Group, SetResult, acknowledgement, interchange_ack
from interlace.formats.x12.config import X12Format, X12Partner
from interlace.formats.x12.lexer import Delimiters, Lexer
from interlace.formats.x12.sets import SETS
from interlace.types import JSONObject

MAX_SET = 16 << 20
"""The largest transaction set read (bytes): one set is held whole until its SE."""

ISA_FIELDS = (
    "authorization_qualifier",
    "authorization",
    "security_qualifier",
    "security",
    "sender_qualifier",
    "sender",
    "receiver_qualifier",
    "receiver",
    "date",
    "time",
    "standards",
    "version",
    "control",
    "ack_requested",
    "usage",
    "component",
)


@dataclass
class Interchange:
    header: JSONObject
    control: str
    offset: int
    partner: str | None
    profile: X12Partner | None
    groups: list[Group] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)
    """Why the whole interchange is rejected (its trailer, its receiver): (TA105 code, text)."""
    notes: list[str] = field(default_factory=list)
    """What every set of it carries in `problems` (an unknown sender)."""


@dataclass
class OpenSet:
    id: str
    control: str
    offset: int
    segments: list[RawSegment] = field(default_factory=list)
    size: int = 0
    bad_text: list[tuple[int, str]] = field(default_factory=list)


def _strip(value: str) -> str:
    return value.strip()


class X12Reader:
    def __init__(self, config: X12Format, name: str) -> None:
        self.config = config
        self.name = name
        self.number = 0
        self.builders = {key: TreeBuilder(spec) for key, spec in SETS.items()}
        self.interchanges: set[str] = set()
        """The ISA13s read from this file: one used twice is rejected (TA1 025)."""

    def _error(
        self, reason: str, offset: int | None, field: str | None = None, *, number: int | None = None
    ) -> ParseError:
        return ParseError(
            reason, file=self.name, record=number if number is not None else self.number, offset=offset, field=field
        )

    def _next(self) -> int:
        self.number += 1
        return self.number

    # -- the interchange loop ----------------------------------------------------------------

    def read(self, stream: BinaryIO) -> Iterator[Record]:
        lexer = Lexer(stream, self.name, self.config.encoding)
        spool = Spool(self.config.hold)
        chg: Interchange | None = None
        group: Group | None = None
        open_set: OpenSet | None = None
        delims: Delimiters | None = None
        try:
            tokens = iter(lexer)
            while True:
                try:
                    token = next(tokens)
                except StopIteration:
                    break
                except ParseError as exc:
                    if chg is not None:
                        if open_set is not None and group is not None:
                            record, result = self._set(chg, group, open_set, None, None)
                            group.add(result)
                            spool.add(record, group.index, open_set.size)
                        chg.problems.append(("023", f"cannot be read to its end: {exc.reason}"))
                        yield from self._close(chg, spool, None)
                    self.number += 1
                    exc.record = self.number
                    yield Record(self.number, exc.offset, error=exc, fatal=True)
                    return
                offset, tag, elements, size, clean = token
                if tag == "ISA":
                    if chg is not None:
                        if open_set is not None and group is not None:
                            record, result = self._set(chg, group, open_set, None, offset)
                            group.add(result)
                            spool.add(record, group.index, open_set.size)
                        chg.problems.append(("023", "no IEA before the next ISA"))
                        yield from self._close(chg, spool, None)
                    delims = lexer.delimiters
                    assert delims is not None
                    chg, group, open_set = self._interchange(elements, offset, delims), None, None
                    continue
                if chg is None or delims is None:
                    reason = f"segment {tag} outside an interchange (after its IEA)"
                    yield Record(self._next(), offset, error=self._error(reason, offset))
                    continue
                if open_set is not None:
                    if tag == "SE":
                        assert group is not None
                        record, result = self._set(chg, group, open_set, elements, offset)
                        group.add(result)
                        spool.add(record, group.index, open_set.size)
                        open_set = None
                        continue
                    if tag not in ("ST", "GE", "IEA", "GS"):
                        open_set.size += size
                        if open_set.size > MAX_SET:
                            chg.problems.append(
                                ("024", f"set {open_set.control} is larger than any transaction set read")
                            )
                            yield from self._close(chg, spool, None)
                            reason = "a transaction set too large to hold: is its SE missing?"
                            yield Record(self._next(), open_set.offset, error=self._error(reason, offset), fatal=True)
                            return
                        position = len(open_set.segments) + 2
                        open_set.segments.append((position, tag, elements))
                        if not clean:
                            open_set.bad_text.append((position, tag))
                        continue
                    assert group is not None
                    record, result = self._set(chg, group, open_set, None, offset)  # its SE is missing
                    group.add(result)
                    spool.add(record, group.index, open_set.size)
                    open_set = None
                if tag == "ST":
                    if group is None:
                        group = self._group(chg, ["", "", "", "", "", "", "", ""], offset)
                        group.codes.append("3")
                        chg.problems.append(("024", "a transaction set outside a functional group (no GS)"))
                    open_set = OpenSet(_at(elements, 0), _at(elements, 1), offset)
                elif tag == "GS":
                    if group is not None and not group.closed:
                        group.codes.append("3")
                    group = self._group(chg, elements, offset)
                elif tag == "GE":
                    if group is None or group.closed:
                        chg.problems.append(("024", "a GE without its GS"))
                        continue
                    self._group_end(group, elements)
                elif tag == "IEA":
                    if group is not None and not group.closed:
                        group.codes.append("3")
                    self._interchange_end(chg, elements)
                    yield from self._close(chg, spool, elements)
                    chg, group = None, None
                else:
                    chg.problems.append(("024", f"segment {tag} at byte {offset} is outside any transaction set"))
            if chg is not None:
                if open_set is not None and group is not None:
                    record, result = self._set(chg, group, open_set, None, None)
                    group.add(result)
                    spool.add(record, group.index, open_set.size)
                if group is not None and not group.closed:
                    group.codes.append("3")
                chg.problems.append(("023", "the file ends before the interchange's IEA"))
                yield from self._close(chg, spool, None)
        finally:
            spool.close()

    # -- envelopes ---------------------------------------------------------------------------

    def _interchange(self, elements: list[Any], offset: int, delims: Delimiters) -> Interchange:
        values = {name: _at(elements, i) for i, name in enumerate(ISA_FIELDS)}
        header: JSONObject = {
            "control": values["control"],
            "sender": {"qualifier": values["sender_qualifier"], "id": _strip(values["sender"])},
            "receiver": {"qualifier": values["receiver_qualifier"], "id": _strip(values["receiver"])},
            "date": values["date"],
            "time": values["time"],
            "version": values["version"],
            "ack_requested": values["ack_requested"],
            "usage": values["usage"],
            "delimiters": delims.as_json(),
        }
        for name in ("authorization", "security"):
            qualifier, info = values[f"{name}_qualifier"], _strip(values[name])
            if qualifier != "00" or info:
                header[name] = {"qualifier": qualifier, "info": info}
        partner, profile = self._partner(values["sender_qualifier"], _strip(values["sender"]))
        chg = Interchange(header, values["control"], offset, partner, profile)
        if len(elements) != 16:
            chg.problems.append(("024", f"the ISA has {len(elements)} elements, not 16"))
        if values["control"] in self.interchanges:
            chg.problems.append(("025", f"ISA13 {values['control']} is used twice in this file"))
        self.interchanges.add(values["control"])
        if not (len(values["control"]) == 9 and values["control"].isdigit()):
            chg.problems.append(("018", f"ISA13 {values['control']!r} is not a 9-digit control number"))
        us = self.config.us
        receiver = (values["receiver_qualifier"], _strip(values["receiver"]))
        if us is not None and receiver != (us.qualifier, us.id):
            chg.problems.append(
                ("008", f"the interchange is for {receiver[0]}:{receiver[1]}, not for us ({us.qualifier}:{us.id})")
            )
        if profile is None:
            chg.notes.append(
                f"interchange {values['control']}: sender {values['sender_qualifier']}:{_strip(values['sender'])} "
                "matches no trading partner"
            )
        return chg

    def _partner(self, qualifier: str, sender: str) -> tuple[str | None, X12Partner | None]:
        for name, profile in self.config.partners.items():
            if profile.qualifier == qualifier and profile.id == sender:
                return name, profile
        return None, None

    def _group(self, chg: Interchange, elements: list[Any], offset: int) -> Group:
        header: JSONObject = {
            "code": _at(elements, 0),
            "sender": _at(elements, 1),
            "receiver": _at(elements, 2),
            "date": _at(elements, 3),
            "time": _at(elements, 4),
            "control": _at(elements, 5),
            "agency": _at(elements, 6),
            "version": _at(elements, 7),
        }
        group = Group(len(chg.groups), header, header["code"], header["control"], offset)
        if not group.control.isdigit() or len(group.control) > 9:
            group.codes.append("6")
        chg.groups.append(group)
        return group

    def _group_end(self, group: Group, elements: list[Any]) -> None:
        group.closed = True
        declared = _at(elements, 0)
        group.declared = int(declared) if declared.isdigit() else None
        if group.declared != group.received:
            group.codes.append("5")
        if _at(elements, 1) != group.control:
            group.codes.append("4")

    def _interchange_end(self, chg: Interchange, elements: list[Any]) -> None:
        declared = _at(elements, 0)
        if not declared.isdigit() or int(declared) != len(chg.groups):
            chg.problems.append(
                ("021", f"IEA01 says {declared or 'nothing'} functional groups, there are {len(chg.groups)}")
            )
        if _at(elements, 1) != chg.control:
            chg.problems.append(("001", f"IEA02 {_at(elements, 1)!r} does not match ISA13 {chg.control!r}"))

    # -- transaction sets --------------------------------------------------------------------

    def _set(
        self, chg: Interchange, group: Group, open_set: OpenSet, trailer: list[str] | None, trailer_at: int | None
    ) -> tuple[Record, SetResult]:
        result = SetResult(open_set.id, open_set.control)
        count = len(open_set.segments) + 2
        if trailer is None:
            result.codes.append("2")
        else:
            declared = _at(trailer, 0)
            if not declared.isdigit() or int(declared) != count:
                result.codes.append("4")
                result.problems.append(
                    Problem(
                        "segment_count",
                        f"SE01 says {declared or 'nothing'} segments, there are {count}",
                        "SE",
                        count,
                        1,
                    )
                )
            if _at(trailer, 1) != open_set.control:
                result.codes.append("3")
                result.problems.append(
                    Problem(
                        "control_mismatch",
                        f"SE02 {_at(trailer, 1)!r} does not match ST02 {open_set.control!r}",
                        "SE",
                        count,
                        2,
                    )
                )
        if not (4 <= len(open_set.control) <= 9):
            result.codes.append("7")
        if open_set.control in group.controls:
            result.codes.append("23")
            reason = f"ST02 {open_set.control} is used twice in this group"
            result.problems.append(Problem("duplicate", reason, "ST", 1, 2, value=open_set.control))
        group.controls.add(open_set.control)
        builder = self.builders.get(open_set.id)
        document: JSONObject = {}
        if builder is None:
            result.codes.append("1")
            result.problems.append(
                Problem("unsupported", f"transaction set {open_set.id!r} is not supported", "ST", 1, 1)
            )
        else:
            document, found = builder.build(open_set.segments, count)
            for position, tag in open_set.bad_text:
                found.append(Problem("invalid_character", f"{tag} is not {self.config.encoding} text", tag, position))
            result.problems.extend(found)
            if any(p.rejects for p in found):
                result.codes.append("5")
            elif found:
                result.status = "E"
        if result.codes:
            result.status = "R"
        number = self._next()
        where = f"interchange {chg.control}, group {group.control}, set {open_set.control} ({open_set.id})"
        problems = [p for p in result.problems]
        if result.status == "R":
            first = next((p for p in problems if p.rejects), None)
            if first is not None:
                reason = f"{where}: {first}"
                if len(problems) > 1:
                    reason += f" (and {len(problems) - 1} more: " + "; ".join(str(p) for p in problems[1:4]) + ")"
            else:
                reason = f"{where}: " + ("the SE trailer is missing" if "2" in result.codes else "rejected")
            error = self._error(reason, open_set.offset, first.field if first else None, number=number)
            return Record(number, open_set.offset, error=error, raw=None), result
        value: JSONObject = {
            "standard": "x12",
            "kind": "document",
            "partner": chg.partner,
            "interchange": chg.header,
            "group": group.header,
            "set": open_set.id,
            "control": open_set.control,
            "document": document,
            "problems": [f"{where}: {p}" for p in problems] + list(chg.notes),
        }
        if open_set.id == "997":
            value["acknowledges"] = _acknowledged(document)
        return Record(number, open_set.offset, value), result

    # -- closing an interchange: hand out what it held, then the acknowledgements -------------

    def _close(self, chg: Interchange, spool: Spool, trailer: list[str] | None) -> Iterator[Record]:
        rejected_groups = {g.index for g in chg.groups if g.codes}
        for index, record in spool.drain():
            if record.error is None and (chg.problems or index in rejected_groups):
                group = chg.groups[index]
                why = "; ".join(t for _, t in chg.problems) if chg.problems else _group_reason(group)
                reason = f"interchange {chg.control}, group {group.control}: rejected with its envelope: {why}"
                record = Record(
                    record.number, record.offset, error=self._error(reason, record.offset, number=record.number)
                )
            yield record
        profile = chg.profile
        if profile is None or not profile.acknowledge:
            return
        if chg.problems or chg.header.get("ack_requested") == "1":
            value = self._reply(chg, "TA1", interchange_ack(chg.header, chg.problems[0][0] if chg.problems else None))
            yield Record(self._next(), chg.offset, value)
            if chg.problems:
                return  # a rejected interchange is answered by its TA1 alone
        for group in chg.groups:
            if group.code == "FA":
                continue  # acknowledgements are not acknowledged
            document = acknowledgement(group)
            value = self._reply(chg, "997", document)
            value["acknowledges"]["group"] = group.control
            value["acknowledges"]["code"] = group.code
            value["acknowledges"]["status"] = document["AK9"]["AK901"]
            yield Record(self._next(), group.offset, value)

    def _reply(self, chg: Interchange, kind: str, document: JSONObject) -> JSONObject:
        status = document["TA1"]["TA104"] if kind == "TA1" else None
        return {
            "standard": "x12",
            "kind": "acknowledgement",
            "partner": chg.partner,
            "set": kind,
            "acknowledges": {"interchange": chg.control, **({"status": status} if status else {})},
            "document": document,
        }


def _group_reason(group: Group) -> str:
    reasons = {
        "1": "functional group not supported",
        "2": "version not supported",
        "3": "its GE trailer is missing",
        "4": "GE02 does not match GS06",
        "5": f"GE01 says {group.declared} sets, there are {group.received}",
        "6": "GS06 is not a control number",
    }
    return "; ".join(reasons.get(c, c) for c in group.codes)


def _acknowledged(document: JSONObject) -> JSONObject:
    ak1 = document.get("AK1") or {}
    ak9 = document.get("AK9") or {}
    return {"code": ak1.get("AK101"), "group": ak1.get("AK102"), "status": ak9.get("AK901")}


def _at(elements: list[Any], index: int) -> str:
    """An envelope element as text (a composite where none belongs is read as its components joined)."""
    value = elements[index] if index < len(elements) else ""
    if isinstance(value, str):
        return value
    return ">".join(v if isinstance(v, str) else ">".join(v) for v in value)
