"""Fixed-width records: a layout in the config names each field's position and type.

Positions are 1-based byte columns, as printed record layouts give them; a field gives
`start` and `length`, or only `length` (`width`) to follow the previous field. Types:
`str` (trailing blanks stripped unless `strip: false`), `int`, and `decimal` with `decimals`
implied digits (`0012345` with `decimals: 2` is 123.45) or an explicit point. Numbers are
written right-aligned, zero-filled, with a leading `-` when negative. A blank number reads as None.
A number is ASCII digits with a sign before or after (`numbers.py`): `1_000000`, `1e5` or a tab
are refused, though Python's `int()` would take them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from decimal import Context, Decimal, InvalidOperation
from typing import Any, BinaryIO, Literal

from pydantic import model_validator

from interlace.errors import ParseError
from interlace.formats.base import Codec, Record, RecordWriter, lines
from interlace.formats.numbers import NotANumber, parse_decimal, parse_int
from interlace.options import Options
from interlace.types import JSONObject


class FixedField(Options):
    name: str
    start: int | None = None
    """1-based first byte; omitted: right after the previous field."""
    length: int | None = None
    width: int | None = None
    """Same as `length`."""
    type: Literal["str", "int", "decimal"] = "str"
    decimals: int = 0
    """Implied decimal digits of a `decimal` field."""

    @model_validator(mode="after")
    def _size(self) -> FixedField:
        if (self.length is None) == (self.width is None):
            raise ValueError(f"field {self.name!r} needs exactly one of length or width")
        if self.size <= 0:
            raise ValueError(f"field {self.name!r} must be at least one byte long")
        if self.start is not None and self.start < 1:
            raise ValueError(f"field {self.name!r}: start is 1-based")
        if self.decimals and self.type != "decimal":
            raise ValueError(f"field {self.name!r}: decimals needs type decimal")
        return self

    @property
    def size(self) -> int:
        return self.length if self.length is not None else (self.width or 0)


class FixedWidthFormat(Options):
    """`format: {type: fixedwidth, fields: [...]}`."""

    type: Literal["fixedwidth"] = "fixedwidth"
    fields: list[FixedField]
    encoding: str = "utf-8"
    newline: Literal["\n", "\r\n", ""] = "\n"
    """What ends a record; "" for back-to-back fixed-length records."""
    record_length: int | None = None
    """Bytes per record without the newline; defaults to the end of the last field."""
    strip: bool = True


Convert = Callable[[bytes], Any]
_EXACT = Context(prec=100)  # scaling must never round


class FixedWidthCodec(Codec):
    def __init__(self, config: FixedWidthFormat) -> None:
        self.config = config
        self.slots: list[tuple[str, int, int, FixedField]] = []
        position = 0
        for field in config.fields:
            start = field.start - 1 if field.start is not None else position
            self.slots.append((field.name, start, start + field.size, field))
            position = start + field.size
        end = max(stop for _, _, stop, _ in self.slots)
        self.length = config.record_length or end
        if self.length < end:
            raise ValueError(f"record_length {self.length} is shorter than the layout ({end} bytes)")
        self.newline = config.newline.encode()
        self.blank = " ".encode(config.encoding) * self.length
        self.decoders = [(name, start, stop, self._decoder(f)) for name, start, stop, f in self.slots]
        self.decode_all = self._compile()

    def _decoder(self, field: FixedField) -> Convert:
        encoding = self.config.encoding
        if field.type == "str":
            if self.config.strip:
                return lambda raw: raw.decode(encoding).rstrip(" ")
            return lambda raw: raw.decode(encoding)
        if field.type == "int":
            return lambda raw: _int(raw.decode(encoding))
        decimals = field.decimals
        return lambda raw: _decimal(raw.decode(encoding), decimals)

    def _compile(self) -> Callable[[bytes], dict[str, Any]]:
        """One function building the whole record (as `namedtuple` does), for the common case:
        `int()` straight on ASCII digits. It raises on anything unusual (a blank number, a sign
        after the digits, EBCDIC digits), and `read` then decodes field by field."""
        encoding = self.config.encoding
        ascii_digits = "0123456789+- ".encode(encoding, "replace") == b"0123456789+- "
        env: dict[str, Any] = {"_enc": encoding, "_D": Decimal, "_X": _EXACT, "_ok": self._guard()}
        parts = []
        for index, (name, start, stop, field) in enumerate(self.slots):
            piece = f"b[{start}:{stop}]"
            if field.type == "str":
                expr = f"{piece}.decode(_enc)" + ('.rstrip(" ")' if self.config.strip else "")
            elif not ascii_digits:
                env[f"_f{index}"] = self.decoders[index][3]
                expr = f"_f{index}({piece})"
            elif field.type == "int":
                expr = f"int({piece})"
            else:
                expr = f"_D(int({piece})).scaleb({-field.decimals}, _X)"
            parts.append(f"{name!r}: {expr}")
        guard = "    if _ok(b) is None:\n        raise ValueError\n"
        source = "def decode(b):\n" + guard + "    return {" + ", ".join(parts) + "}\n"
        exec(source, env)
        function: Callable[[bytes], dict[str, Any]] = env["decode"]
        return function

    def _guard(self) -> Callable[[bytes], object]:
        """Matches a record whose number fields hold only digits, blanks and signs, so that `int()`
        on them means what the layout means (it also takes `1_000` and tabs): one regex per record.
        Overlapping fields get no fast path."""
        parts, position = [], 0
        for _, start, stop, field in sorted(self.slots, key=lambda slot: slot[1]):
            if start < position:
                return lambda b: None
            parts.append(b".{%d}" % (start - position))
            parts.append((b"[0-9 +-]{%d}" if field.type != "str" else b".{%d}") % (stop - start))
            position = stop
        parts.append(b".{%d}" % (self.length - position))
        return re.compile(b"(?s)" + b"".join(parts)).fullmatch

    def offset_table(self) -> list[JSONObject]:
        return [
            {"field": name, "start": start + 1, "end": stop, "length": stop - start, "type": f.type}
            for name, start, stop, f in self.slots
        ]

    def read(self, stream: BinaryIO, *, name: str = "<stream>") -> Iterator[Record]:
        decoders = self.decoders
        decode_all = self.decode_all
        length = self.length
        offset = 0
        number = 0
        newline = self.newline
        cut = -len(newline) if newline else None
        for line in self._lines(stream, name):
            start = offset
            offset += len(line)
            if newline and line.endswith(newline):
                body = line[:cut]
            elif newline and line.endswith(b"\n"):
                body = line[:-1]
            else:
                body = line
            if not body and newline:
                continue
            number += 1
            if len(body) != length:
                if len(body) > length or not newline:
                    reason = f"is {len(body)} bytes long, the layout has {length}"
                    error = ParseError(reason, file=name, record=number, offset=start)
                    yield Record(number, start, error=error, raw=line)
                    continue
                body += self.blank[len(body) :]  # trailing blanks are often trimmed by editors
            try:
                yield Record(number, start, decode_all(body), None, line)
                continue
            except (ValueError, ArithmeticError):
                pass
            value: dict[str, Any] = {}
            field = ""
            first = stop = 0
            try:  # field by field: blanks, signs after the digits, or the bad field's name
                for field, first, stop, decode in decoders:
                    value[field] = decode(body[first:stop])
            except (ValueError, ArithmeticError) as exc:
                text = body[first:stop].decode(self.config.encoding, "replace")
                reason = str(exc) if isinstance(exc, NotANumber) else f"{text!r} is not a valid value"
                error = ParseError(
                    reason,
                    file=name,
                    record=number,
                    offset=start + first,
                    field=field,
                )
                yield Record(number, start, error=error, raw=line)
                continue
            yield Record(number, start, value, None, line)

    def _lines(self, stream: BinaryIO, name: str) -> Iterator[bytes]:
        if self.newline:
            yield from lines(stream, name=name)
            return
        while chunk := stream.read(self.length):
            yield chunk

    def writer(self, stream: BinaryIO) -> RecordWriter:
        return _FixedWriter(self, stream)


def _int(raw: str) -> int | None:
    text = raw.strip(" ")
    return parse_int(text) if text else None


def _decimal(raw: str, decimals: int) -> Decimal | None:
    text = raw.strip(" ")
    if not text:
        return None
    if "." in text:
        return parse_decimal(text)
    return Decimal(parse_int(text)).scaleb(-decimals, _EXACT)


def format_number(value: Any, field: FixedField) -> str:
    """The text of a number in a field: right-aligned, zero-filled, `-` first when negative."""
    if field.type == "int":
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError(f"field {field.name!r}: {value!r} is not an integer")
        try:
            number = value if isinstance(value, int) else parse_int(value.strip(" "))
        except NotANumber as exc:
            raise ValueError(f"field {field.name!r}: {exc}") from None
    else:
        try:
            exact = parse_decimal(value.strip(" ")) if isinstance(value, str) else Decimal(str(value))
            if not exact.is_finite():
                raise NotANumber(f"{value!r} is not a finite number")
            scaled = exact.scaleb(field.decimals, _EXACT)
        except (InvalidOperation, NotANumber):
            raise ValueError(f"field {field.name!r}: {value!r} is not a number") from None
        if scaled != scaled.to_integral_value():
            raise ValueError(f"field {field.name!r}: {value} has more than {field.decimals} decimals")
        number = int(scaled)
    digits = str(abs(number))
    width = field.size - (1 if number < 0 else 0)
    if len(digits) > width:
        raise ValueError(f"field {field.name!r}: {value} does not fit in {field.size} bytes")
    return ("-" if number < 0 else "") + digits.zfill(width)


class _FixedWriter(RecordWriter):
    def __init__(self, codec: FixedWidthCodec, stream: BinaryIO) -> None:
        self._codec = codec
        self._stream = stream

    def write(self, record: JSONObject) -> None:
        codec = self._codec
        out = bytearray(codec.blank)
        for name, start, stop, field in codec.slots:
            value = record.get(name)
            if value is None:
                continue
            if field.type == "str":
                data = str(value).encode(codec.config.encoding)
                if len(data) > stop - start:
                    raise ValueError(f"field {name!r}: {value!r} is longer than {stop - start} bytes")
                out[start : start + len(data)] = data
            else:
                out[start:stop] = format_number(value, field).encode(codec.config.encoding)
        self._stream.write(bytes(out) + codec.newline)
