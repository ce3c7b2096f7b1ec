"""Reads EDIFACT interchanges into records: one per message, then the CONTRL to send back.

Envelopes are checked as they close: UNT's segment count (UNH to UNT) and reference (UNH 0062),
UNE's message count and reference (UNG 0048), UNZ's count (messages, or groups when there are
groups) and reference (UNB 0020). The syntax level (UNOA ... UNOY) says how the bytes are decoded
and, for UNOA and UNOB, which characters are allowed. Numbers written with a decimal comma (UNA)
are read with a point. Each message's body is matched to its spec (`messages.py`) and validated.
As with X12 the records of an interchange are held until its UNZ; a rejected message comes out as
an error record naming the interchange, the segment position and the element. Then, for a partner
who asks for it (UNB 0031 = 1, or `acknowledge: always`), a record holding the CONTRL.
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
from interlace.formats.edifact.config import ENCODINGS, EdifactFormat, EdifactPartner
from interlace.formats.edifact.contrl import InterchangeResult, MessageResult, contrl
from interlace.formats.edifact.lexer import Lexer, Service
from interlace.formats.edifact.messages import MESSAGES
from interlace.formats.edifact.syntax import LEVEL_CHECKS, split_segment
from interlace.types import JSONObject

MAX_MESSAGE = 16 << 20
"""The largest message read (bytes): one message is held whole until its UNT."""


@dataclass
class Interchange:
    header: JSONObject
    reference: str
    offset: int
    partner: str | None
    profile: EdifactPartner | None
    service: Service
    encoding: str
    level: str
    result: InterchangeResult
    groups: int = 0
    messages: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rejected_groups: set[int] = field(default_factory=set)
    references: set[str] = field(default_factory=set)


@dataclass
class Group:
    index: int
    header: JSONObject
    reference: str
    messages: int = 0
    closed: bool = False


@dataclass
class OpenMessage:
    reference: str
    identifier: list[str]
    offset: int
    header: JSONObject
    segments: list[RawSegment] = field(default_factory=list)
    size: int = 0
    bad: list[tuple[int, str, str]] = field(default_factory=list)


def _c(value: Any, index: int) -> str:
    """Component `index` (0-based) of an element, a plain string being its first component."""
    if isinstance(value, list):
        item = value[index] if index < len(value) else ""
        return item if isinstance(item, str) else ""
    return value if index == 0 and isinstance(value, str) else ""


def _at(elements: list[Any], index: int) -> Any:
    return elements[index] if index < len(elements) else ""


def _party(value: Any) -> JSONObject:
    out: JSONObject = {"id": _c(value, 0)}
    if _c(value, 1):
        out["qualifier"] = _c(value, 1)
    if _c(value, 2):
        out["routing"] = _c(value, 2)
    return out


class EdifactReader:
    def __init__(self, config: EdifactFormat, name: str) -> None:
        self.config = config
        self.name = name
        self.number = 0
        self._builders: dict[tuple[str, str], TreeBuilder] = {}
        self.interchanges: set[str] = set()
        """The UNB references read from this file: one used twice is rejected (26)."""

    def _builder(self, kind: str, decimal: str) -> TreeBuilder | None:
        spec = MESSAGES.get(kind)
        if spec is None:
            return None
        key = (kind, decimal)
        if key not in self._builders:
            self._builders[key] = TreeBuilder(spec, decimal=decimal)
        return self._builders[key]

    def _error(
        self, reason: str, offset: int | None, field: str | None = None, number: int | None = None
    ) -> ParseError:
        return ParseError(reason, file=self.name, record=number or self.number, offset=offset, field=field)

    def _next(self) -> int:
        self.number += 1
        return self.number

    def read(self, stream: BinaryIO) -> Iterator[Record]:
        lexer = Lexer(stream, self.name)
        spool = Spool(self.config.hold)
        chg: Interchange | None = None
        group: Group | None = None
        message: OpenMessage | None = None
        tokens = iter(lexer)
        try:
            while True:
                try:
                    token = next(tokens)
                except StopIteration:
                    break
                except ParseError as exc:
                    if chg is not None:
                        chg.problems.append(f"cannot be read to its end: {exc.reason}")
                        chg.result.code, chg.result.segment = "13", "UNZ"
                        yield from self._close(chg, spool)
                    exc.record = self._next()
                    yield Record(exc.record, exc.offset, error=exc, fatal=True)
                    return
                offset, raw, size = token
                if raw.startswith(b"UNA"):
                    continue
                if raw[:3] == b"UNB":
                    if chg is not None:
                        chg.problems.append("no UNZ before the next UNB")
                        chg.result.code, chg.result.segment = "13", "UNZ"
                        yield from self._close(chg, spool)
                    tag, elements = split_segment(raw.decode("latin-1"), lexer.service)
                    chg, group, message = self._interchange(elements, offset, lexer.service), None, None
                    continue
                if chg is None:
                    reason = f"segment {raw[:3].decode('latin-1')!r} outside an interchange"
                    yield Record(self._next(), offset, error=self._error(reason, offset))
                    continue
                text, clean = self._decode(raw, chg)
                tag, elements = split_segment(text, chg.service)
                if message is not None:
                    if tag == "UNT":
                        record, result = self._message(chg, group, message, elements)
                        chg.result.add(result)
                        spool.add(record, group.index if group else -1, message.size)
                        message = None
                        continue
                    if tag not in ("UNH", "UNE", "UNZ", "UNG"):
                        message.size += size
                        if message.size > MAX_MESSAGE:
                            chg.problems.append(f"message {message.reference} is larger than any message read")
                            chg.result.code, chg.result.segment = "18", "UNT"
                            yield from self._close(chg, spool)
                            reason = "a message too large to hold: is its UNT missing?"
                            yield Record(self._next(), message.offset, error=self._error(reason, offset), fatal=True)
                            return
                        position = len(message.segments) + 2
                        message.segments.append((position, tag, elements))
                        if not clean:
                            message.bad.append((position, tag, "is not " + chg.level + " text"))
                        continue
                    record, result = self._message(chg, group, message, None)
                    chg.result.add(result)
                    spool.add(record, group.index if group else -1, message.size)
                    message = None
                if tag == "UNH":
                    chg.messages += 1
                    if group is not None:
                        group.messages += 1
                    identifier = _at(elements, 1)
                    ident = identifier if isinstance(identifier, list) else [identifier]
                    header: JSONObject = {
                        "version": _c(identifier, 1),
                        "release": _c(identifier, 2),
                        "agency": _c(identifier, 3),
                    }
                    if _c(identifier, 4):
                        header["association"] = _c(identifier, 4)
                    message = OpenMessage(str(_c(_at(elements, 0), 0)), [str(i) for i in ident], offset, header)
                elif tag == "UNG":
                    group = Group(chg.groups, self._group(elements), str(_c(_at(elements, 4), 0)))
                    chg.groups += 1
                elif tag == "UNE":
                    if group is None:
                        chg.problems.append("a UNE without its UNG")
                        continue
                    group.closed = True
                    count, ref = _c(_at(elements, 0), 0), _c(_at(elements, 1), 0)
                    if not count.isdigit() or int(count) != group.messages or ref != group.reference:
                        chg.rejected_groups.add(group.index)
                    group = None
                elif tag == "UNZ":
                    if group is not None:
                        chg.rejected_groups.add(group.index)
                    count, ref = _c(_at(elements, 0), 0), _c(_at(elements, 1), 0)
                    expected = chg.groups if chg.groups else chg.messages
                    if ref != chg.reference:
                        chg.problems.append(f"UNZ reference {ref!r} does not match UNB {chg.reference!r}")
                        chg.result.code, chg.result.segment = "28", "UNZ"
                    elif not count.isdigit() or int(count) != expected:
                        what = "groups" if chg.groups else "messages"
                        chg.problems.append(f"UNZ says {count or 'nothing'} {what}, there are {expected}")
                        chg.result.code, chg.result.segment = "29", "UNZ"
                    yield from self._close(chg, spool)
                    chg, group = None, None
                else:
                    chg.problems.append(f"segment {tag} at byte {offset} is outside any message")
                    chg.result.code, chg.result.segment = "33", tag[:3]
            if chg is not None:
                if message is not None:
                    record, result = self._message(chg, group, message, None)
                    chg.result.add(result)
                    spool.add(record, group.index if group else -1, message.size)
                chg.problems.append("the file ends before the interchange's UNZ")
                chg.result.code, chg.result.segment = "13", "UNZ"
                yield from self._close(chg, spool)
        finally:
            spool.close()

    def _decode(self, raw: bytes, chg: Interchange) -> tuple[str, bool]:
        try:
            text = raw.decode(chg.encoding)
        except UnicodeDecodeError:
            return raw.decode(chg.encoding, errors="replace"), False
        check = LEVEL_CHECKS.get(chg.level) if self.config.check_characters else None
        if check is not None:
            s = chg.service
            plain = text
            for char in (s.component, s.element, s.release, s.repetition):
                if char:
                    plain = plain.replace(char, "")
            if not check.fullmatch(plain):
                return text, False
        return text, True

    # -- envelopes ---------------------------------------------------------------------------

    def _interchange(self, elements: list[Any], offset: int, service: Service) -> Interchange:
        syntax = _at(elements, 0)
        level, version = _c(syntax, 0), _c(syntax, 1)
        sender, recipient = _party(_at(elements, 1)), _party(_at(elements, 2))
        stamp = _at(elements, 3)
        reference = _c(_at(elements, 4), 0)
        header: JSONObject = {
            "syntax": level,
            "syntax_version": version,
            "sender": sender,
            "recipient": recipient,
            "date": _c(stamp, 0),
            "time": _c(stamp, 1),
            "control": reference,
            "delimiters": service.as_json(),
        }
        for index, name in (
            (5, "password"),
            (6, "application"),
            (7, "priority"),
            (8, "ack_requested"),
            (9, "agreement"),
            (10, "test"),
        ):
            value = _at(elements, index)
            if value != "":
                header[name] = value
        partner, profile = None, None
        for name, candidate in self.config.partners.items():
            if candidate.id == sender["id"] and (
                candidate.qualifier is None or candidate.qualifier == sender.get("qualifier")
            ):
                partner, profile = name, candidate
                break
        encoding = ENCODINGS.get(level, "latin-1")
        result = InterchangeResult(reference, _at(elements, 1), _at(elements, 2))
        chg = Interchange(header, reference, offset, partner, profile, service, encoding, level, result)
        if reference in self.interchanges:
            chg.problems.append(f"UNB reference {reference} is used twice in this file")
            result.code, result.segment = "26", "UNB"
        self.interchanges.add(reference)
        if level not in ENCODINGS or version not in ("1", "2", "3", "4"):
            chg.problems.append(f"syntax {level}:{version} is not supported (UNOA..UNOY, versions 1-4)")
            result.code, result.segment = "2", "UNB"
        us = self.config.us
        if us is not None and (
            recipient["id"] != us.id or (us.qualifier and recipient.get("qualifier") != us.qualifier)
        ):
            chg.problems.append(f"the interchange is for {recipient['id']}, not for us ({us.id})")
            result.code, result.segment = "7", "UNB"
        if profile is None:
            chg.notes.append(f"interchange {reference}: sender {sender['id']} matches no trading partner")
        return chg

    def _group(self, elements: list[Any]) -> JSONObject:
        stamp = _at(elements, 3)
        ver = _at(elements, 6)
        return {
            "type": _c(_at(elements, 0), 0),
            "sender": _party(_at(elements, 1)),
            "recipient": _party(_at(elements, 2)),
            "date": _c(stamp, 0),
            "time": _c(stamp, 1),
            "control": _c(_at(elements, 4), 0),
            "agency": _c(_at(elements, 5), 0),
            "version": {
                "version": _c(ver, 0),
                "release": _c(ver, 1),
                **({"association": _c(ver, 2)} if _c(ver, 2) else {}),
            },
        }

    # -- messages ----------------------------------------------------------------------------

    def _message(
        self, chg: Interchange, group: Group | None, message: OpenMessage, trailer: list[Any] | None
    ) -> tuple[Record, MessageResult]:
        result = MessageResult(message.reference, message.identifier)
        count = len(message.segments) + 2
        if trailer is None:
            result.accepted, result.code, result.segment = False, "13", "UNT"
            result.problems.append(Problem("missing_segment", "the UNT trailer is missing", "UNT", count))
        else:
            declared, ref = _c(_at(trailer, 0), 0), _c(_at(trailer, 1), 0)
            if ref != message.reference:
                result.accepted, result.code, result.segment = False, "28", "UNT"
                result.problems.append(
                    Problem(
                        "references", f"UNT reference {ref!r} does not match UNH {message.reference!r}", "UNT", count, 2
                    )
                )
            if not declared.isdigit() or int(declared) != count:
                result.accepted = False
                if result.code is None:
                    result.code, result.segment = "29", "UNT"
                reason = f"UNT says {declared or 'nothing'} segments, there are {count}"
                result.problems.append(Problem("segment_count", reason, "UNT", count, 1))
        if message.reference in chg.references:
            result.accepted = False
            if result.code is None:
                result.code, result.segment = "26", "UNH"
            reason = f"UNH reference {message.reference} is used twice in this interchange"
            result.problems.append(Problem("duplicate", reason, "UNH", 1, 1, value=message.reference))
        chg.references.add(message.reference)
        kind = message.identifier[0] if message.identifier else ""
        builder = self._builder(kind, chg.service.decimal)
        document: JSONObject = {}
        if builder is None:
            result.accepted = False
            if result.code is None:
                result.code, result.segment = "18", "UNH"
            result.problems.append(Problem("unsupported", f"message type {kind!r} is not supported", "UNH", 1, 2))
        else:
            document, found = builder.build(message.segments, count)
            for position, tag, why in message.bad:
                found.append(Problem("invalid_character", f"{tag} {why}", tag, position))
            result.problems.extend(found)
            if any(p.rejects for p in found):
                result.accepted = False
        number = self._next()
        where = f"interchange {chg.reference}, message {message.reference} ({kind})"
        if not result.accepted:
            first = next((p for p in result.problems if p.rejects), result.problems[0] if result.problems else None)
            reason = f"{where}: {first}" if first else f"{where}: rejected"
            if len(result.problems) > 1:
                reason += (
                    f" (and {len(result.problems) - 1} more: " + "; ".join(str(p) for p in result.problems[1:4]) + ")"
                )
            error = self._error(reason, message.offset, first.field if first else None, number)
            return Record(number, message.offset, error=error), result
        value: JSONObject = {
            "standard": "edifact",
            "kind": "document",
            "partner": chg.partner,
            "interchange": chg.header,
            "group": group.header if group else None,
            "message": kind,
            "version": message.header,
            "control": message.reference,
            "document": document,
            "problems": [f"{where}: {p}" for p in result.problems] + list(chg.notes),
        }
        if kind == "CONTRL":
            uci = document.get("UCI") or {}
            value["acknowledges"] = {"interchange": uci.get("UCI01"), "status": uci.get("UCI04")}
        return Record(number, message.offset, value), result

    def _close(self, chg: Interchange, spool: Spool) -> Iterator[Record]:
        for index, record in spool.drain():
            if record.error is None and (chg.problems or index in chg.rejected_groups):
                why = "; ".join(chg.problems) if chg.problems else "its group's UNE count or reference is wrong"
                reason = f"interchange {chg.reference}: rejected with its envelope: {why}"
                record = Record(
                    record.number, record.offset, error=self._error(reason, record.offset, None, record.number)
                )
            yield record
        profile = chg.profile
        if profile is None or profile.acknowledge == "never":
            return
        if profile.acknowledge == "requested" and chg.header.get("ack_requested") != "1":
            return
        if chg.result.received and all(m.identifier[:1] == ["CONTRL"] for m in chg.result.messages):
            return  # a CONTRL is not answered
        if chg.rejected_groups and not chg.result.code:
            chg.result.code, chg.result.segment = "29", "UNE"
        value: JSONObject = {
            "standard": "edifact",
            "kind": "acknowledgement",
            "partner": chg.partner,
            "message": "CONTRL",
            "acknowledges": {"interchange": chg.reference, "status": "4" if chg.result.code else "7"},
            "document": contrl(chg.result),
        }
        yield Record(self._next(), chg.offset, value)
