"""X12 segments from a byte stream, with the delimiters each ISA declares.

The ISA segment says, by where it puts them, which characters separate elements (its 4th byte),
components (ISA16), repetitions (ISA11 from version 00402) and segments (the byte after ISA16).
Each interchange of a file may declare others. Line breaks and a UTF-8 byte order mark around
segments are formatting, not data, and are skipped (unless a line break is itself a delimiter).

The stream is read in 1 MiB chunks and split on the segment terminator, so memory stays flat
whatever the file's size; a "segment" longer than `MAX_SEGMENT` (a wrong terminator, not X12)
ends reading with a ParseError.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

from interlace.errors import ParseError
from interlace.formats.edi.stream import BLANK as _BLANK
from interlace.formats.edi.stream import BOM, to_next

CHUNK = 1 << 20
MAX_SEGMENT = 1 << 20

Token = tuple[int, str, list[Any], int, bool]
"""(byte offset, tag, elements after the tag, bytes taken including the terminator, decoded cleanly).
An element is a string, a list of components, or (with a repetition separator) a list of such lists."""


class Delimiters:
    __slots__ = ("component", "element", "repetition", "segment")

    def __init__(self, element: str, component: str, segment: str, repetition: str | None) -> None:
        self.element = element
        self.component = component
        self.segment = segment
        self.repetition = repetition

    def as_json(self) -> dict[str, str]:
        out = {"element": self.element, "component": self.component, "segment": self.segment}
        if self.repetition is not None:
            out["repetition"] = self.repetition
        return out


def _separator(byte: int) -> bool:
    return not (0x30 <= byte <= 0x39 or 0x41 <= byte <= 0x5A or 0x61 <= byte <= 0x7A or byte == 0x20)


class Lexer:
    """`for token in Lexer(stream, name)`; `delimiters` are those of the interchange being read."""

    def __init__(self, stream: BinaryIO, name: str, encoding: str = "utf-8", chunk: int = CHUNK) -> None:
        self.stream = stream
        self.name = name
        self.encoding = encoding
        self.chunk = chunk
        self.delimiters: Delimiters | None = None

    def _fail(self, reason: str, offset: int) -> ParseError:
        return ParseError(reason, file=self.name, offset=offset)

    def __iter__(self) -> Iterator[Token]:
        read = self.stream.read
        buf = b""
        base = 0
        eof = False
        while True:
            # -- between interchanges: find the next ISA and learn its delimiters ---------------
            buf, base, eof = to_next(buf, base, eof, read, self.chunk, 512)
            if not buf:
                return
            if not buf.startswith(b"ISA") or len(buf) < 4:
                shown = buf[:20].decode("latin-1").encode("unicode_escape").decode()
                raise self._fail(f"expected an ISA segment (an interchange), found {shown!r}", base)
            sep = buf[3]
            end = 3
            for _ in range(15):  # the 16th separator (the first is at byte 3) comes before ISA16
                end = buf.find(bytes([sep]), end + 1, 400)
                if end < 0:
                    raise self._fail("the ISA segment is cut short or has not 16 elements", base)
            if end + 2 >= len(buf):
                raise self._fail("the file ends inside the ISA segment", base)
            comp, term = buf[end + 1], buf[end + 2]
            if len({sep, comp, term}) != 3 or not all(_separator(b) for b in (sep, comp, term)):
                shown = bytes([sep, comp, term]).decode("latin-1").encode("unicode_escape").decode()
                raise self._fail(f"the ISA declares unusable delimiters {shown!r} (element, component, segment)", base)
            isa = buf[: end + 2]
            buf = buf[end + 3 :]
            token = self._token(isa, base, end + 3, chr(sep), chr(comp), chr(term))
            yield token
            base += end + 3
            # -- inside an interchange: split on the terminator --------------------------------
            term_byte = bytes([term])
            sep_s, comp_s = chr(sep), chr(comp)
            encoding = self.encoding
            rep_s = self.delimiters.repetition if self.delimiters is not None else None
            strip = bytes(b for b in b"\r\n" if b not in (sep, comp, term))
            resync = False
            while not resync:
                parts = buf.split(term_byte)
                rest = parts.pop()
                offset = base
                for index, part in enumerate(parts):
                    size = len(part) + 1
                    segment = part.strip(strip) if strip else part
                    if segment:
                        lead = part.find(segment[:1])
                        if segment.startswith(b"ISA") and not self._same(segment, sep, comp):
                            taken = offset - base + lead  # a new interchange with other delimiters
                            buf = buf[taken:]
                            base += taken
                            resync = True
                            break
                        if segment[:3] == b"ISA":  # the next interchange, with the same delimiters
                            token = self._token(segment, offset + lead, size - lead, sep_s, comp_s, chr(term))
                            rep_s = self.delimiters.repetition if self.delimiters is not None else None
                        else:  # the common case, inline
                            try:
                                text = segment.decode(encoding)
                                clean = True
                            except UnicodeDecodeError:
                                text, clean = segment.decode(encoding, errors="replace"), False
                            elements: list[Any] = text.split(sep_s)
                            tag = elements[0]
                            del elements[0]
                            if comp_s in text or (rep_s is not None and rep_s in text):
                                elements = _composites(elements, comp_s, rep_s)
                            token = (offset + lead, tag, elements, size - lead, clean)
                        yield token
                        if token[1] == "IEA":
                            following = parts[index + 1].strip(_BLANK) if index + 1 < len(parts) else b""
                            if following.startswith(BOM):
                                following = following[3:]
                            if not (following.startswith(b"ISA") and self._same(following, sep, comp)):
                                taken = offset + size - base
                                buf = buf[taken:]
                                base += taken
                                resync = True
                                break
                    offset += size
                if resync:
                    break
                base = offset
                buf = rest
                if len(buf) > MAX_SEGMENT:
                    raise self._fail(f"a segment longer than {MAX_SEGMENT} bytes: is the terminator right?", base)
                data = read(self.chunk) if not eof else b""
                if not data:
                    eof = True
                    if not buf.strip(_BLANK):
                        return
                    tail = buf.strip(strip)  # a last segment without its terminator: read as if it had one
                    lead = buf.find(tail[:1])
                    yield self._token(tail, base + lead, len(buf) - lead, sep_s, comp_s, chr(term))
                    return
                buf += data

    def _same(self, segment: bytes, sep: int, comp: int) -> bool:
        """Whether an ISA split out with the current terminator declares the current delimiters."""
        return len(segment) > 4 and segment[3] == sep and segment.count(sep) == 16 and segment[-1] == comp

    def _token(self, raw: bytes, offset: int, size: int, sep: str, comp: str, term: str) -> Token:
        try:
            text = raw.decode(self.encoding)
            clean = True
        except UnicodeDecodeError:
            text = raw.decode(self.encoding, errors="replace")
            clean = False
        elements: list[Any] = text.split(sep)
        tag = elements[0]
        del elements[0]
        if tag == "ISA":
            rep = elements[10] if len(elements) > 10 else ""
            repetition = rep if len(rep) == 1 and _separator(ord(rep)) and rep not in (sep, comp, term) else None
            self.delimiters = Delimiters(sep, comp, term, repetition)
            return offset, tag, elements, size, clean
        d = self.delimiters
        if d is not None and (comp in text or (d.repetition is not None and d.repetition in text)):
            elements = _composites(elements, comp, d.repetition)
        return offset, tag, elements, size, clean


def _composites(elements: list[Any], comp: str, rep: str | None) -> list[Any]:
    """Elements holding component (or repetition) separators as lists (of lists)."""
    if rep is not None:
        return [
            [p.split(comp) for p in v.split(rep)] if rep in v else v.split(comp) if comp in v else v for v in elements
        ]
    return [v.split(comp) if comp in v else v for v in elements]
