"""What both lexers do between interchanges: skip blanks and a byte order mark, and have enough
bytes at hand to read the next header."""

from __future__ import annotations

from collections.abc import Callable

BOM = b"\xef\xbb\xbf"
BLANK = b" \t\r\n\x00"


def to_next(
    buf: bytes, base: int, eof: bool, read: Callable[[int], bytes], chunk: int, need: int
) -> tuple[bytes, int, bool]:
    """(`buf` from the next non-blank byte, its offset, eof) with at least `need` bytes in it unless
    the stream ends first."""
    while True:
        stripped = buf.lstrip(BLANK)
        if stripped.startswith(BOM):
            stripped = stripped[3:].lstrip(BLANK)
        base += len(buf) - len(stripped)
        buf = stripped
        if len(buf) >= need or eof:
            return buf, base, eof
        data = read(chunk)
        if not data:
            eof = True
        buf += data
