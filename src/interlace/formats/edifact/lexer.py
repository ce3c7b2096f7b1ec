"""EDIFACT segments from a byte stream, honouring UNA and the release character.

UNA, when present, declares the service characters: component, element, decimal mark, release,
repetition (or reserved) and segment terminator, in that order. Without it the defaults are
`:+.? '`, or, when UNB is followed by IS3 (0x1D), the syntax level B information separators
(IS1 0x1F for components, IS3 0x1D for elements, IS4 0x1C for segments). Each interchange of a
file may declare its own. A terminator preceded by an odd number of release characters is data.
Line breaks around segments are formatting and skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from interlace.errors import ParseError
from interlace.formats.edi.stream import BLANK as _BLANK
from interlace.formats.edi.stream import to_next

CHUNK = 1 << 20
MAX_SEGMENT = 1 << 20


class Service:
    """The service characters of one interchange."""

    __slots__ = ("component", "decimal", "element", "release", "repetition", "segment", "una")

    def __init__(
        self,
        component: str,
        element: str,
        decimal: str,
        release: str | None,
        repetition: str | None,
        segment: str,
        una: bool,
    ) -> None:
        self.component = component
        self.element = element
        self.decimal = decimal
        self.release = release
        self.repetition = repetition
        self.segment = segment
        self.una = una

    def as_json(self) -> dict[str, object]:
        return {
            "component": self.component,
            "element": self.element,
            "decimal": self.decimal,
            "release": self.release,
            "repetition": self.repetition,
            "segment": self.segment,
            "una": self.una,
        }


DEFAULT = Service(":", "+", ".", "?", None, "'", False)
LEVEL_B = Service("\x1f", "\x1d", ".", None, None, "\x1c", False)

Token = tuple[int, bytes, int]
"""(byte offset, the segment's bytes without its terminator, bytes taken)."""


def _released(data: bytes, release: int) -> bool:
    """Whether `data` ends in an odd number of release characters (the next byte is escaped)."""
    count = 0
    for byte in reversed(data):
        if byte != release:
            break
        count += 1
    return count % 2 == 1


class Lexer:
    """`for token in Lexer(stream, name)`; `service` is that of the interchange being read."""

    def __init__(self, stream: BinaryIO, name: str, chunk: int = CHUNK) -> None:
        self.stream = stream
        self.name = name
        self.chunk = chunk
        self.service: Service = DEFAULT

    def _fail(self, reason: str, offset: int) -> ParseError:
        return ParseError(reason, file=self.name, offset=offset)

    def __iter__(self) -> Iterator[Token]:
        read = self.stream.read
        buf = b""
        base = 0
        eof = False
        while True:
            buf, base, eof = to_next(buf, base, eof, read, self.chunk, 16)
            if not buf:
                return
            if buf.startswith(b"UNA"):
                if len(buf) < 9:
                    raise self._fail("the file ends inside the UNA service string advice", base)
                chars = buf[3:9].decode("latin-1")
                comp, elem, dec, rel, rep, end = tuple(chars)
                used = [c for c in (comp, elem, rel, end) if c != " "]
                if len(set(used)) != len(used) or any(c.isalnum() for c in (comp, elem, rel, end)) or elem == " ":
                    raise self._fail(f"UNA declares unusable service characters {chars!r}", base)
                if dec not in ".,":
                    dec = "."
                release = None if rel == " " else rel
                self.service = Service(comp, elem, dec, release, None if rep == " " else rep, end, True)
                yield base, b"UNA" + buf[3:9], 9
                buf, base = buf[9:], base + 9
                stripped = buf.lstrip(_BLANK)
                base += len(buf) - len(stripped)
                buf = stripped
            elif buf.startswith(b"UNB\x1d"):
                self.service = LEVEL_B
            elif buf.startswith(b"UNB"):
                self.service = DEFAULT
            else:
                shown = buf[:20].decode("latin-1").encode("unicode_escape").decode()
                raise self._fail(f"expected UNA or UNB (an interchange), found {shown!r}", base)
            service = self.service
            term = service.segment.encode("latin-1")
            escape = ord(service.release) if service.release is not None else None
            strip = bytes(b for b in b"\r\n" if chr(b) not in (service.segment, service.element, service.component))
            resync = False
            carry = b""
            carry_at = base
            while not resync:
                parts = buf.split(term)
                rest = parts.pop()
                offset = base
                for part in parts:
                    size = len(part) + 1
                    if carry:
                        part = carry + term + part
                        start = carry_at
                        carry = b""
                    else:
                        start = offset
                    if escape is not None and part and part[-1] == escape and _released(part, escape):
                        carry, carry_at = part, start  # an escaped terminator: the segment goes on
                        offset += size
                        continue
                    segment = part.strip(strip) if strip else part
                    if segment:
                        lead = part.find(segment[:1])
                        yield start + lead, segment, offset + size - start - lead
                        if segment.startswith(b"UNZ"):
                            taken = offset + size - base
                            buf = buf[taken:]
                            base += taken
                            resync = True
                            break
                    offset += size
                if resync:
                    break
                if carry:
                    rest = carry + term + rest
                    carry = b""
                    offset = carry_at
                base = offset
                buf = rest
                if len(buf) > MAX_SEGMENT:
                    raise self._fail(f"a segment longer than {MAX_SEGMENT} bytes: is the terminator right?", base)
                data = read(self.chunk) if not eof else b""
                if not data:
                    eof = True
                    tail = buf.strip(strip + b" \x00")
                    if tail:
                        lead = buf.find(tail[:1])
                        yield base + lead, tail, len(buf) - lead
                    return
                buf += data
