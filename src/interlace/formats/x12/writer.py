"""Writes records as X12: each record is one transaction set, enveloped for its partner.

A record names its `partner` (a profile of the format), its `set` and its `document`. Consecutive
records for the same partner share one interchange, and those of one functional group (GS01 from
the set: PO, SH, IN, FA, ...) one group. Control numbers come from the record when it carries
them (`interchange.control`, `group.control`, `control`: a record read from X12 writes back the
same segments) and are generated otherwise: ISA13 and GS06 from `ControlNumbers`, ST02 counting
from 0001 in each group. SE01, GE01 and IEA01 are counted. Delimiters and versions are the
partner's (`delimiters`, `version`, `group_version`), or those the record was read with.
A value holding a delimiter cannot be written in X12 (it has no escape): that is a ValueError
naming the element.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, BinaryIO

from interlace.formats.base import RecordWriter
from interlace.formats.edi.control import ControlNumbers
from interlace.formats.edi.tree import TreeBuilder
from interlace.formats.x12.config import X12Delimiters, X12Format, X12Partner
from interlace.formats.x12.sets import FUNCTIONAL_GROUP, SETS
from interlace.types import JSONObject


def _obj(value: Any) -> dict[str, Any]:
    """A part of a record that should be an object, or an empty one (what it lacks takes defaults)."""
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        raise ValueError("true/false is not an X12 value")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class _Envelope:
    def __init__(self, partner: str, header: JSONObject, delims: X12Delimiters, key: tuple[Any, ...]) -> None:
        self.partner = partner
        self.header = header
        self.delims = delims
        self.key = key
        self.groups = 0
        self.group_key: tuple[Any, ...] | None = None
        self.group_control = ""
        self.sets = 0


class X12Writer(RecordWriter):
    def __init__(
        self,
        config: X12Format,
        stream: BinaryIO,
        numbers: ControlNumbers,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.stream = stream
        self.numbers = numbers
        self.clock = clock
        self.builders = {key: TreeBuilder(spec) for key, spec in SETS.items()}
        self.current: _Envelope | None = None
        self._closed = False

    # -- segments ----------------------------------------------------------------------------

    def _segment(self, tag: str, elements: list[Any], *, check: bool = True) -> None:
        env = self.current
        assert env is not None
        d = env.delims
        texts = [tag]
        for i, value in enumerate(elements, 1):
            texts.append(self._element(tag, i, value, d) if check else _text(value))
        line = d.element.join(texts) + d.segment + ("\n" if d.newline and d.segment != "\n" else "")
        self.stream.write(line.encode(self.config.encoding))
        if tag not in ("ISA", "IEA", "GS", "GE"):
            env.sets += 1 if tag == "ST" else 0

    def _element(self, tag: str, i: int, value: Any, d: X12Delimiters) -> str:
        if isinstance(value, list):
            if value and all(isinstance(v, list) for v in value):
                return d.repetition.join(
                    d.component.join(self._plain(tag, i, c, d, composite=True) for c in part) for part in value
                )
            return d.component.join(self._plain(tag, i, c, d, composite=True) for c in value)
        return self._plain(tag, i, value, d)

    def _plain(self, tag: str, i: int, value: Any, d: X12Delimiters, composite: bool = False) -> str:
        if isinstance(value, dict | list):
            raise ValueError(f"{tag}{i:02d}: a value nested too deep for an X12 element")
        text = _text(value)
        for name, char in (("element", d.element), ("segment", d.segment), ("component", d.component)):
            if char in text:
                raise ValueError(f"{tag}{i:02d}: {text[:40]!r} holds the {name} separator {char!r} (X12 has no escape)")
        if d.repetition in text and composite is False and self.current is not None and self._repeats():
            raise ValueError(f"{tag}{i:02d}: {text[:40]!r} holds the repetition separator {d.repetition!r}")
        return text

    def _repeats(self) -> bool:
        env = self.current
        return env is not None and str(env.header.get("version", "00401")) >= "00402"

    # -- envelopes ---------------------------------------------------------------------------

    def _profile(self, record: JSONObject) -> tuple[str, X12Partner | None]:
        name = record.get("partner")
        if name is None:
            if isinstance(record.get("interchange"), dict):
                return "", None
            raise ValueError("partner: a record to write names its trading partner (a key of the format's partners)")
        profile = self.config.partners.get(str(name))
        if profile is None and not isinstance(record.get("interchange"), dict):
            known = ", ".join(sorted(self.config.partners)) or "none"
            raise ValueError(f"partner: {name!r} is not a trading partner of this format (known: {known})")
        return str(name), profile

    def _open(self, record: JSONObject) -> None:
        name, profile = self._profile(record)
        given = record.get("interchange") if isinstance(record.get("interchange"), dict) else None
        given_control = given.get("control") if given else None
        key = (name, given_control)
        if self.current is not None and self.current.key == key:
            return
        self._close_interchange()
        stamp = time.gmtime(self.clock())
        if given is not None:
            d = _obj(given.get("delimiters"))
            element, component, segment = d.get("element", "*"), d.get("component", ">"), d.get("segment", "~")
            spare = next(c for c in "^|!\\" if c not in (element, component, segment))
            delims = X12Delimiters(
                element=element,
                component=component,
                segment=segment,
                repetition=d.get("repetition") or spare,
                newline=profile.delimiters.newline if profile else d.get("newline", True),
            )
            header = dict(given)
            if not d.get("repetition"):
                header["_standards"] = "U"
        else:
            assert profile is not None
            us = self.config.us
            if us is None:
                raise ValueError("us: the format needs our own identity ({qualifier, id}) to send X12")
            delims = profile.delimiters
            control = self.numbers.next(name, "interchange")
            header = {
                "control": f"{control:09d}",
                "sender": {"qualifier": us.qualifier, "id": us.id},
                "receiver": {"qualifier": profile.qualifier, "id": profile.id},
                "date": time.strftime("%y%m%d", stamp),
                "time": time.strftime("%H%M", stamp),
                "version": profile.version,
                "ack_requested": "1" if profile.request_ta1 else "0",
                "usage": profile.usage,
            }
            if profile.version < "00402":
                header["_standards"] = "U"
        env = _Envelope(name, header, delims, key)
        self.current = env
        sender, receiver = _obj(header.get("sender")), _obj(header.get("receiver"))
        auth = _obj(header.get("authorization"))
        sec = _obj(header.get("security"))
        standards = header.get("_standards") or delims.repetition
        isa = [
            str(auth.get("qualifier", "00")).ljust(2)[:2],
            str(auth.get("info", "")).ljust(10)[:10],
            str(sec.get("qualifier", "00")).ljust(2)[:2],
            str(sec.get("info", "")).ljust(10)[:10],
            str(sender.get("qualifier", "ZZ")).ljust(2)[:2],
            str(sender.get("id", "")).ljust(15)[:15],
            str(receiver.get("qualifier", "ZZ")).ljust(2)[:2],
            str(receiver.get("id", "")).ljust(15)[:15],
            str(header.get("date", "")).rjust(6, "0")[:6],
            str(header.get("time", "")).rjust(4, "0")[:4],
            standards,
            str(header.get("version", "00401")),
            str(header.get("control", "")).rjust(9, "0")[:9],
            str(header.get("ack_requested", "0")),
            str(header.get("usage", "P")),
            delims.component,
        ]
        self._segment("ISA", isa, check=False)

    def _open_group(self, record: JSONObject, set_id: str, profile: X12Partner | None) -> None:
        env = self.current
        assert env is not None
        given = record.get("group") if isinstance(record.get("group"), dict) else None
        code = (given or {}).get("code") or FUNCTIONAL_GROUP.get(set_id, "")
        key = (code, (given or {}).get("control"))
        if env.group_key == key:
            return
        self._close_group()
        stamp = time.gmtime(self.clock())
        if given is not None:
            header = dict(given)
        else:
            us = self.config.us
            assert us is not None and profile is not None
            header = {
                "code": code,
                "sender": us.application,
                "receiver": profile.application,
                "date": time.strftime("%Y%m%d", stamp),
                "time": time.strftime("%H%M", stamp),
                "control": str(self.numbers.next(env.partner, "group")),
                "agency": "X",
                "version": profile.group_version,
            }
        env.group_key = key
        env.group_control = str(header.get("control", ""))
        env.groups += 1
        env.sets = 0
        fields = ("code", "sender", "receiver", "date", "time", "control", "agency", "version")
        self._segment("GS", [header.get(f, "") for f in fields])

    def _close_group(self) -> None:
        env = self.current
        if env is None or env.group_key is None:
            return
        self._segment("GE", [str(env.sets), env.group_control])
        env.group_key = None

    def _close_interchange(self) -> None:
        env = self.current
        if env is None:
            return
        self._close_group()
        self._segment("IEA", [str(env.groups), str(env.header.get("control", "")).rjust(9, "0")])
        self.current = None

    # -- records -----------------------------------------------------------------------------

    def write(self, record: JSONObject) -> None:
        if self._closed:
            raise ValueError("the writer is closed")
        set_id = str(record.get("set", ""))
        if set_id == "TA1":
            self._open(record)
            self._close_group()
            self._segment("TA1", list(_ta1(record.get("document"))))
            return
        builder = self.builders.get(set_id)
        if builder is None:
            raise ValueError(f"set: {set_id!r} is not a transaction set Interlace writes ({', '.join(SETS)})")
        segments = list(builder.flatten(record.get("document") or {}))  # refused before anything is written
        _, profile = self._profile(record)
        self._open(record)
        self._open_group(record, set_id, profile)
        env = self.current
        assert env is not None
        control = str(record["control"]) if record.get("control") else f"{env.sets + 1:04d}"
        self._segment("ST", [set_id, control])
        for tag, elements in segments:
            self._segment(tag, elements)
        self._segment("SE", [str(len(segments) + 2), control])

    def close(self) -> None:
        if self._closed:
            return
        self._close_interchange()
        self._closed = True


def _ta1(document: Any) -> list[str]:
    ta1 = (document or {}).get("TA1") if isinstance(document, dict) else None
    if not isinstance(ta1, dict):
        raise ValueError("document: a TA1 record holds {TA1: {TA101..TA105}}")
    return [_text(ta1.get(f"TA1{i:02d}")) for i in range(1, 6)]
