"""Writes records as EDIFACT: each record is one message, enveloped for its partner.

A record names its `partner`, its `message` type and its `document`; consecutive records for one
partner share an interchange (UNA, UNB ... UNZ), within UNG/UNE groups when the partner wants
them. References come from the record when it carries them (a record read from EDIFACT writes
back the same segments) and are generated otherwise: UNB 0020 and UNG 0048 from
`ControlNumbers`, UNH 0062 counting from 1 in each interchange. UNT, UNE and UNZ counts are
counted. Service characters in values are escaped with the release character; numbers (R
elements) are written with the interchange's decimal mark.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, BinaryIO

from interlace.formats.base import RecordWriter
from interlace.formats.edi.control import ControlNumbers
from interlace.formats.edi.tree import TreeBuilder
from interlace.formats.edifact.config import ENCODINGS, EdifactDelimiters, EdifactFormat, EdifactPartner
from interlace.formats.edifact.lexer import Service
from interlace.formats.edifact.messages import MESSAGES
from interlace.formats.edifact.syntax import LEVEL_CHECKS, escape
from interlace.types import JSONObject


def _obj(value: Any) -> dict[str, Any]:
    """A part of a record that should be an object, or an empty one (what it lacks takes defaults)."""
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        raise ValueError("true/false is not an EDIFACT value")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class _Interchange:
    def __init__(self, partner: str, header: JSONObject, service: Service, newline: bool, key: tuple[Any, ...]) -> None:
        self.partner = partner
        self.header = header
        self.service = service
        self.newline = newline
        self.key = key
        self.encoding = ENCODINGS.get(str(header.get("syntax", "UNOC")), "latin-1")
        self.check = LEVEL_CHECKS.get(str(header.get("syntax", "UNOC")))
        self.messages = 0
        self.groups = 0
        self.group_key: tuple[Any, ...] | None = None
        self.group_reference = ""
        self.group_messages = 0


class EdifactWriter(RecordWriter):
    def __init__(
        self, config: EdifactFormat, stream: BinaryIO, numbers: ControlNumbers, clock: Callable[[], float] = time.time
    ) -> None:
        self.config = config
        self.stream = stream
        self.numbers = numbers
        self.clock = clock
        self.current: _Interchange | None = None
        self._builders: dict[tuple[str, str], TreeBuilder] = {}
        self._closed = False

    def _builder(self, kind: str, decimal: str) -> TreeBuilder:
        spec = MESSAGES.get(kind)
        if spec is None:
            raise ValueError(f"message: {kind!r} is not a message type Interlace writes ({', '.join(MESSAGES)})")
        key = (kind, decimal)
        if key not in self._builders:
            self._builders[key] = TreeBuilder(spec, decimal=decimal)
        return self._builders[key]

    # -- segments ----------------------------------------------------------------------------

    def _segment(self, tag: str, elements: list[Any]) -> None:
        chg = self.current
        assert chg is not None
        s = chg.service
        texts = [tag]
        for i, value in enumerate(elements, 1):
            texts.append(self._element(tag, i, value, s))
        while len(texts) > 1 and texts[-1] == "":
            texts.pop()
        line = s.element.join(texts) + s.segment + ("\n" if chg.newline else "")
        if self.config.check_characters and chg.check is not None:
            plain = line.replace(s.element, "").replace(s.component, "").replace(s.release or "", "")
            if not chg.check.fullmatch(plain.replace(s.segment, "").replace("\n", "")):
                raise ValueError(
                    f"{tag}: {line[:60]!r} has characters that syntax level {chg.header.get('syntax')} does not allow"
                )
        try:
            self.stream.write(line.encode(chg.encoding))
        except UnicodeEncodeError:
            raise ValueError(
                f"{tag}: {line[:60]!r} cannot be written in {chg.header.get('syntax')} ({chg.encoding})"
            ) from None
        if tag == "UNH":
            chg.messages += 1
            chg.group_messages += 1

    def _element(self, tag: str, i: int, value: Any, s: Service) -> str:
        if isinstance(value, list):
            if value and all(isinstance(v, list) for v in value):
                if s.repetition is None:
                    raise ValueError(f"{tag}{i:02d}: repeated values need syntax version 4 (a repetition separator)")
                return s.repetition.join(s.component.join(self._plain(tag, i, c, s) for c in part) for part in value)
            parts = [self._plain(tag, i, c, s) for c in value]
            while len(parts) > 1 and parts[-1] == "":
                parts.pop()
            return s.component.join(parts)
        return self._plain(tag, i, value, s)

    def _plain(self, tag: str, i: int, value: Any, s: Service) -> str:
        if isinstance(value, dict | list):
            raise ValueError(f"{tag}{i:02d}: a value nested too deep for an EDIFACT element")
        try:
            return escape(_text(value), s)
        except ValueError as exc:
            raise ValueError(f"{tag}{i:02d}: {exc}") from None

    # -- envelopes ---------------------------------------------------------------------------

    def _profile(self, record: JSONObject) -> tuple[str, EdifactPartner | None]:
        name = record.get("partner")
        given = isinstance(record.get("interchange"), dict)
        if name is None:
            if given:
                return "", None
            raise ValueError("partner: a record to write names its trading partner (a key of the format's partners)")
        profile = self.config.partners.get(str(name))
        if profile is None and not given:
            known = ", ".join(sorted(self.config.partners)) or "none"
            raise ValueError(f"partner: {name!r} is not a trading partner of this format (known: {known})")
        return str(name), profile

    def _open(self, record: JSONObject, name: str, profile: EdifactPartner | None) -> None:
        given = record.get("interchange") if isinstance(record.get("interchange"), dict) else None
        key = (name, given.get("control") if given else None)
        if self.current is not None and self.current.key == key:
            return
        self._close_interchange()
        stamp = time.gmtime(self.clock())
        if given is not None:
            header = dict(given)
            d = dict(_obj(header.get("delimiters")))
            service = Service(
                d.get("component", ":"),
                d.get("element", "+"),
                d.get("decimal", "."),
                d.get("release", "?"),
                d.get("repetition"),
                d.get("segment", "'"),
                bool(d.get("una", True)),
            )
            newline = profile.delimiters.newline if profile else False
        else:
            assert profile is not None
            us = self.config.us
            if us is None:
                raise ValueError("us: the format needs our own identity ({id, qualifier}) to send EDIFACT")
            delims: EdifactDelimiters = profile.delimiters
            four = profile.syntax_version == "4"
            service = Service(
                delims.component,
                delims.element,
                delims.decimal,
                delims.release,
                delims.repetition if four else None,
                delims.segment,
                delims.una,
            )
            newline = delims.newline
            sender: JSONObject = {"id": us.id, **({"qualifier": us.qualifier} if us.qualifier else {})}
            recipient: JSONObject = {
                "id": profile.id,
                **({"qualifier": profile.qualifier} if profile.qualifier else {}),
            }
            header = {
                "syntax": profile.syntax,
                "syntax_version": profile.syntax_version,
                "sender": sender,
                "recipient": recipient,
                "date": time.strftime("%y%m%d" if not four else "%Y%m%d", stamp),
                "time": time.strftime("%H%M", stamp),
                "control": str(self.numbers.next(name, "interchange")),
            }
            if profile.request_ack:
                header["ack_requested"] = "1"
            if profile.test:
                header["test"] = "1"
        chg = _Interchange(name, header, service, newline, key)
        self.current = chg
        if service.una:
            una = "UNA" + service.component + service.element + service.decimal
            una += (service.release or " ") + (service.repetition or " ") + service.segment
            self.stream.write((una + ("\n" if newline else "")).encode("latin-1"))
        elements: list[Any] = [
            [header.get("syntax", "UNOC"), header.get("syntax_version", "3")],
            _party_out(header.get("sender")),
            _party_out(header.get("recipient")),
            [header.get("date", ""), header.get("time", "")],
            header.get("control", ""),
        ]
        names = ("password", "application", "priority", "ack_requested", "agreement", "test")
        extra = [header.get(n, "") for n in names]
        while extra and extra[-1] == "":
            extra.pop()
        self._segment("UNB", elements + extra)

    def _open_group(self, record: JSONObject, kind: str, profile: EdifactPartner | None) -> None:
        chg = self.current
        assert chg is not None
        given = record.get("group") if isinstance(record.get("group"), dict) else None
        wanted = given is not None or (profile is not None and profile.groups and "interchange" not in record)
        key = (kind, given.get("control") if given else None) if wanted else None
        if chg.group_key == key:
            return
        self._close_group()
        if key is None:
            return
        stamp = time.gmtime(self.clock())
        if given is not None:
            header = given
        else:
            assert profile is not None and self.config.us is not None
            header = {
                "type": kind,
                "sender": {"id": self.config.us.application},
                "recipient": {"id": profile.application},
                "date": time.strftime("%y%m%d", stamp),
                "time": time.strftime("%H%M", stamp),
                "control": str(self.numbers.next(chg.partner, "group")),
                "agency": profile.agency,
                "version": {"version": profile.version, "release": profile.release},
            }
        version = _obj(header.get("version"))
        ver = [version.get("version", ""), version.get("release", "")]
        if version.get("association"):
            ver.append(version["association"])
        chg.group_key = key
        chg.group_reference = str(header.get("control", ""))
        chg.group_messages = 0
        chg.groups += 1
        self._segment(
            "UNG",
            [
                header.get("type", kind),
                _party_out(header.get("sender")),
                _party_out(header.get("recipient")),
                [header.get("date", ""), header.get("time", "")],
                header.get("control", ""),
                header.get("agency", "UN"),
                ver,
            ],
        )

    def _close_group(self) -> None:
        chg = self.current
        if chg is None or chg.group_key is None:
            return
        self._segment("UNE", [str(chg.group_messages), chg.group_reference])
        chg.group_key = None

    def _close_interchange(self) -> None:
        chg = self.current
        if chg is None:
            return
        self._close_group()
        self._segment("UNZ", [str(chg.groups or chg.messages), str(chg.header.get("control", ""))])
        self.current = None

    # -- records -----------------------------------------------------------------------------

    def write(self, record: JSONObject) -> None:
        if self._closed:
            raise ValueError("the writer is closed")
        kind = str(record.get("message", ""))
        name, profile = self._profile(record)
        given = record.get("interchange") if isinstance(record.get("interchange"), dict) else None
        if given is not None:
            decimal = "," if _obj(given.get("delimiters")).get("decimal") == "," else "."
        else:
            assert profile is not None
            decimal = profile.delimiters.decimal
        segments = list(self._builder(kind, decimal).flatten(record.get("document") or {}))
        self._open(record, name, profile)
        self._open_group(record, kind, profile)
        chg = self.current
        assert chg is not None
        reference = str(record["control"]) if record.get("control") else str(chg.messages + 1)
        version = record.get("version") if isinstance(record.get("version"), dict) else None
        if version is None:
            version = {"version": "D", "release": "96A", "agency": "UN"}
            if profile is not None:
                version = {"version": profile.version, "release": profile.release, "agency": profile.agency}
                if profile.association:
                    version["association"] = profile.association
        identifier = [kind, version.get("version", ""), version.get("release", ""), version.get("agency", "")]
        if version.get("association"):
            identifier.append(version["association"])
        self._segment("UNH", [reference, identifier])
        for tag, elements in segments:
            self._segment(tag, elements)
        self._segment("UNT", [str(len(segments) + 2), reference])

    def close(self) -> None:
        if self._closed:
            return
        self._close_interchange()
        self._closed = True


def _party_out(party: Any) -> list[str] | str:
    if not isinstance(party, dict):
        return _text(party)
    out = [_text(party.get("id")), _text(party.get("qualifier")), _text(party.get("routing"))]
    while len(out) > 1 and out[-1] == "":
        out.pop()
    return out
