"""Code pages: EBCDIC (cp037, cp273, cp277, cp278, cp280, cp284, cp285, cp297, cp500, cp838,
cp870, cp875, cp1047, cp1140-cp1148: from Python's codecs or the pinned `ebcdic` package) and
ASCII-family encodings.

Zoned decimal digits are F0-F9 in EBCDIC and 30-39 in ASCII. An overpunched sign lives in the
zone of the sign digit: in EBCDIC zone C (or F, unsigned) is positive and D negative; in ASCII
the conventional characters are `{ABCDEFGHI` for +0..+9 and `}JKLMNOPQR` for -0..-9 (`p`-`y`,
the Micro Focus form of -0..-9, is read too). Sign bytes are handled as bytes, not characters,
because cp273 puts other letters at C0 and D0.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field


def ensure(encoding: str) -> str:
    """Check the encoding exists (loading the `ebcdic` package for cp1047 and friends)."""
    try:
        codecs.lookup(encoding)
    except LookupError:
        import ebcdic  # noqa: F401  registers cp1047, cp1140, ... with the codecs module

        codecs.lookup(encoding)
    return encoding


@dataclass
class CodePage:
    encoding: str
    ebcdic: bool = field(init=False)
    space: int = field(init=False)
    plus: int = field(init=False)
    minus: int = field(init=False)
    point: int = field(init=False)
    points: frozenset[int] = field(init=False)
    """Bytes read as the explicit decimal point of a numeric item (`.`, and `,` for a comma)."""
    digits: bytes = field(init=False)
    """translate() table: a digit byte to its ASCII digit, anything else to `?`."""
    overpunch: dict[int, tuple[int, bool]] = field(init=False)
    """A sign-carrying byte -> (digit, negative)."""
    table: str | None = field(init=False)
    """The 256 characters of a single-byte code page where every byte decodes (for
    codecs.charmap_decode); None for other encodings."""

    def __post_init__(self) -> None:
        ensure(self.encoding)
        zero = "0".encode(self.encoding)
        if len(zero) != 1 or len("9".encode(self.encoding)) != 1:
            raise ValueError(f"{self.encoding}: digits are not single bytes")
        self.ebcdic = zero == b"\xf0"
        try:
            decoded = bytes(range(256)).decode(self.encoding)
        except UnicodeDecodeError:
            decoded = ""
        self.table = decoded if len(decoded) == 256 else None
        self.space = " ".encode(self.encoding)[0]
        self.plus = "+".encode(self.encoding)[0]
        self.minus = "-".encode(self.encoding)[0]
        self.point = ".".encode(self.encoding)[0]
        self.points = frozenset((self.point, ",".encode(self.encoding)[0]))
        table = bytearray(b"?" * 256)
        for d in range(10):
            table[str(d).encode(self.encoding)[0]] = 0x30 + d
        self.digits = bytes(table)
        self.overpunch = {}
        if self.ebcdic:
            for d in range(10):
                self.overpunch[0xC0 | d] = (d, False)
                self.overpunch[0xF0 | d] = (d, False)
                self.overpunch[0xD0 | d] = (d, True)
        else:
            for d in range(10):
                self.overpunch[0x30 + d] = (d, False)
                self.overpunch[b"{ABCDEFGHI"[d]] = (d, False)
                self.overpunch[b"}JKLMNOPQR"[d]] = (d, True)
                self.overpunch[0x70 + d] = (d, True)

    def digit_byte(self, digit: int) -> int:
        return 0xF0 + digit if self.ebcdic else 0x30 + digit

    def signed_byte(self, digit: int, negative: bool) -> int:
        """The byte carrying a digit and an overpunched sign (C/D zone; `{A-I` / `}J-R`)."""
        if self.ebcdic:
            return (0xD0 if negative else 0xC0) | digit
        return (b"}JKLMNOPQR" if negative else b"{ABCDEFGHI")[digit]
