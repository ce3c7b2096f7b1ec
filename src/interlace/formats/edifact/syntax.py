"""Splitting a segment into elements and components, and escaping values, with the release
character; the characters each syntax level allows."""

from __future__ import annotations

import re
from typing import Any

from interlace.formats.edifact.lexer import Service

_UNOA = re.compile(r"[A-Z0-9 .,\-()/='+:?!\"%&*;<>\n\r]*")
_UNOB = re.compile(r"[\x20-\x7e\n\r\x1c\x1d\x1f]*")
LEVEL_CHECKS = {"UNOA": _UNOA, "UNOB": _UNOB}


def _split(text: str, sep: str, release: str | None) -> list[str]:
    if release is None or release not in text:
        return text.split(sep)
    out: list[str] = []
    carry: str | None = None
    for part in text.split(sep):
        current = part if carry is None else carry + sep + part
        trailing = len(current) - len(current.rstrip(release))
        if trailing % 2 == 1:
            carry = current
        else:
            out.append(current)
            carry = None
    if carry is not None:
        out.append(carry)
    return out


def _unescape(text: str, release: str | None) -> str:
    if release is None or release not in text:
        return text
    out = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == release and i + 1 < n:
            out.append(text[i + 1])
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)


def split_segment(text: str, s: Service) -> tuple[str, list[Any]]:
    """(tag, elements): an element is a string, a list of components, or a list of repeats."""
    release, comp, rep = s.release, s.component, s.repetition
    if release is None or release not in text:
        elements: list[Any] = text.split(s.element)
        tag = elements.pop(0)
        if comp in text or (rep is not None and rep in text):
            elements = [_composite(v, comp, rep, None) for v in elements]
        return tag, elements
    raw = _split(text, s.element, release)
    tag = _unescape(raw.pop(0), release)
    return tag, [_composite(v, comp, rep, release) for v in raw]


def _composite(value: str, comp: str, rep: str | None, release: str | None) -> Any:
    if rep is not None and rep in value:
        repeats = _split(value, rep, release)
        if len(repeats) > 1:
            return [[_unescape(c, release) for c in _split(r, comp, release)] for r in repeats]
    if comp in value:
        parts = _split(value, comp, release)
        if len(parts) > 1:
            return [_unescape(c, release) for c in parts]
    return _unescape(value, release)


def escape(text: str, s: Service | Any) -> str:
    """`text` with each service character preceded by the release character; ValueError if one
    occurs and there is no release character (syntax level B separators)."""
    specials = [c for c in (s.release, s.component, s.element, s.segment, s.repetition) if c]
    if not any(c in text for c in specials):
        return text
    if not s.release:
        raise ValueError(f"{text[:40]!r} holds a service character and this syntax has no release character")
    return "".join(s.release + c if c in specials else c for c in text)
