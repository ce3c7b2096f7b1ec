"""Decoding and encoding of elementary items: DISPLAY text and zoned numbers, numeric-edited
numbers, binary, packed decimal and floating point (COMP-1/COMP-2).

Numbers with decimal places (V, an explicit point, leading P) are `decimal.Decimal` with exactly
that many places; integers (trailing P included: `9(3)PP` reads 12300) are `int`; COMP-1/COMP-2
are `float`. Encoding refuses a value that does not fit the PIC (too many digits, too many
decimals, a negative number in an unsigned item) rather than truncating it.
"""

from __future__ import annotations

import math
import struct
from codecs import charmap_decode
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Context, Decimal, InvalidOperation
from typing import Any, Literal

from interlace.formats.copybook.codepage import CodePage
from interlace.formats.copybook.edited import EditError, read_edited, write_edited
from interlace.formats.copybook.model import Item
from interlace.formats.copybook.picture import Picture
from interlace.formats.numbers import DIGITS, NotANumber, parse_decimal

Blank = Literal["error", "null", "zero"]
Trim = Literal["none", "left", "right", "both"]
FloatFormat = Literal["ibm", "ibm_little_endian", "ieee754", "ieee754_little_endian"]
_EXACT = Context(prec=100)  # scaling must never round (the default context keeps 28 digits)
_POSITIVE = "cfae"
_NEGATIVE = "db"
# C0 and C1 control characters (what an EBCDIC control byte decodes to) -> blank
_CONTROLS = {c: " " for c in [*range(0x20), *range(0x7F, 0xA0)]}


class FieldError(ValueError):
    """An item's bytes or value are wrong; the codec adds file, record, offset and path."""


@dataclass
class FieldOptions:
    codepage: CodePage
    trim: Trim = "right"
    blank_numeric: Blank = "error"
    byteorder: Literal["big", "little"] = "big"
    float_format: FloatFormat = "ibm"
    control_characters: Literal["keep", "blank"] = "keep"
    low_values: Literal["keep", "blank", "null"] = "keep"


def scaler(scale: int) -> Callable[[int], Any]:
    """From an integer count of the PIC's smallest unit to the value."""
    if scale > 0:
        return lambda n: Decimal(n).scaleb(-scale, _EXACT)
    if scale < 0:
        factor = 10**-scale
        return lambda n: n * factor
    return lambda n: n


def decoder_for(item: Item, opts: FieldOptions) -> Callable[[bytes], Any]:
    """A function decoding this item's bytes, specialised once for its PIC, usage and sign."""
    picture = item.picture
    assert picture is not None
    if picture.kind == "alphanumeric":
        return _text_decoder(opts)
    if picture.kind == "float":
        return _float_decoder(item, opts)
    scaled = scaler(picture.scale)
    scale = picture.scale
    if picture.kind == "edited":
        return _edited_decoder(item, opts, scaled)
    if item.usage in ("binary", "native"):
        order, signed = opts.byteorder, picture.signed
        if scale > 0:
            return lambda raw: Decimal(int.from_bytes(raw, order, signed=signed)).scaleb(-scale, _EXACT)
        if scale < 0:
            return lambda raw: scaled(int.from_bytes(raw, order, signed=signed))
        return lambda raw: int.from_bytes(raw, order, signed=signed)
    cp = opts.codepage
    spaces, low = bytes([cp.space]) * item.size, bytes(item.size)
    packed = item.usage == "packed"
    digits = cp.digits
    plain = DIGITS.fullmatch
    blank_zero = item.blank_when_zero
    point = _point_index(item)

    signed = picture.signed

    def number(raw: bytes) -> Any:
        if raw in (spaces, low):
            return scaled(0) if blank_zero and raw == spaces else _blank(picture, opts)
        if packed:
            nibbles = raw.hex()
            body, sign = nibbles[:-1], nibbles[-1]
            if sign == "c" and body.isdigit():
                return scaled(int(body))  # the usual positive value, without a call
            if sign == "d" and signed and body.isdigit():
                return scaled(-int(body))
            whole = _unpack(raw, picture)
        else:
            if point is not None:
                if raw[point] not in cp.points:
                    raise FieldError(f"X'{raw.hex().upper()}' has no decimal point where PIC {picture.text} has it")
                raw = raw[:point] + raw[point + 1 :]
            text = raw.translate(digits)  # plain digits (no sign zone) take the short way
            whole = int(text) if plain(text) else _unzone(item, raw, cp)
        return scaled(whole)

    return number


def _point_index(item: Item) -> int | None:
    """Where the explicit point's byte is in the item's storage (after a leading separate sign)."""
    picture = item.picture
    if picture is None or picture.point is None:
        return None
    lead = 1 if picture.signed and item.sign == "leading_separate" else 0
    return lead + picture.point


def _text_decoder(opts: FieldOptions) -> Callable[[bytes], Any]:
    encoding = opts.codepage.encoding
    table = opts.codepage.table
    if table is not None and opts.trim == "right" and opts.control_characters == "keep" and opts.low_values == "keep":
        # a single-byte code page: straight to the C charmap decoder, skipping the codec's wrapper
        return lambda raw: charmap_decode(raw, "strict", table)[0].rstrip(" ")
    strip: Callable[[str], str] = {
        "none": lambda s: s,
        "left": lambda s: s.lstrip(" "),
        "right": lambda s: s.rstrip(" "),
        "both": lambda s: s.strip(" "),
    }[opts.trim]
    blank_controls = opts.control_characters == "blank"
    low = opts.low_values
    if not blank_controls and low == "keep":
        if opts.trim == "right":
            return lambda raw: raw.decode(encoding).rstrip(" ")
        if opts.trim == "none":
            return lambda raw: raw.decode(encoding)

    def text(raw: bytes) -> str | None:
        if low == "null" and raw.count(0) == len(raw) and raw:
            return None
        if low == "blank":
            raw = raw.replace(b"\x00", bytes([opts.codepage.space]))
        decoded = raw.decode(encoding)
        if blank_controls:
            decoded = decoded.translate(_CONTROLS)
        return strip(decoded)

    return text


def _edited_decoder(item: Item, opts: FieldOptions, scaled: Callable[[int], Any]) -> Callable[[bytes], Any]:
    picture = item.picture
    assert picture is not None and picture.edit is not None
    edit, encoding = picture.edit, opts.codepage.encoding
    low = bytes(item.size)

    def number(raw: bytes) -> Any:
        if raw == low:
            return _blank(picture, opts)
        try:
            return scaled(read_edited(raw.decode(encoding), edit))
        except EditError as exc:
            raise FieldError(str(exc)) from None

    return number


def _float_decoder(item: Item, opts: FieldOptions) -> Callable[[bytes], Any]:
    little = opts.float_format.endswith("little_endian")
    if opts.float_format.startswith("ieee754"):
        fmt = ("<" if little else ">") + ("f" if item.size == 4 else "d")
        unpack = struct.Struct(fmt).unpack
        return lambda raw: unpack(raw)[0]
    if little:
        return lambda raw: ibm_to_float(raw[::-1])
    return ibm_to_float


def ibm_to_float(raw: bytes) -> float:
    """IBM hexadecimal floating point (big-endian; 4 or 8 bytes): sign bit, 7-bit excess-64
    exponent of 16, then the fraction."""
    number = int.from_bytes(raw, "big")
    fraction_bits = len(raw) * 8 - 8
    negative = number >> (fraction_bits + 7)
    exponent = (number >> fraction_bits) & 0x7F
    fraction = number & ((1 << fraction_bits) - 1)
    value = math.ldexp(fraction, 4 * (exponent - 64) - fraction_bits)
    return -value if negative else value


def float_to_ibm(value: float, size: int) -> bytes:
    """The nearest IBM hexadecimal float of `size` bytes (exact for COMP-2 and any double in range)."""
    if not math.isfinite(value):
        raise FieldError(f"{value} has no IBM floating-point form")
    if value == 0:
        return bytes(size)
    fraction_bits = size * 8 - 8
    mantissa, exponent = math.frexp(abs(value))  # abs(value) = mantissa * 2**exponent, 0.5 <= mantissa < 1
    power = -(-exponent // 4)  # abs(value) = fraction * 16**power with 1/16 <= fraction < 1
    shift = 4 * power - exponent
    whole = int(mantissa * 2**53)  # exact: a double's mantissa has 53 bits
    spare = fraction_bits - 53 - shift
    fraction = whole << spare if spare >= 0 else (whole + (1 << (-spare - 1))) >> -spare
    if fraction >> fraction_bits:
        fraction >>= 4
        power += 1
    if not 0 <= power + 64 <= 127:
        raise FieldError(f"{value} is outside the range of IBM floating point")
    sign = 1 if value < 0 else 0
    number = (sign << (fraction_bits + 7)) | ((power + 64) << fraction_bits) | fraction
    return number.to_bytes(size, "big")


def _blank(picture: Picture, opts: FieldOptions) -> Any:
    if opts.blank_numeric == "null":
        return None
    if opts.blank_numeric == "zero":
        return scaler(picture.scale)(0)
    raise FieldError("is blank (spaces or low-values) where a number is expected")


def decode(item: Item, raw: bytes, opts: FieldOptions) -> Any:
    """Decode one item's bytes (see `decoder_for`, which the codec uses, for the fast path)."""
    return decoder_for(item, opts)(raw)


def _unpack(raw: bytes, picture: Picture) -> int:
    nibbles = raw.hex()
    digits, sign = nibbles[:-1], nibbles[-1]
    if not digits.isdigit():
        raise FieldError(f"packed decimal X'{nibbles.upper()}' holds a non-digit nibble")
    if sign in _NEGATIVE:
        if not picture.signed:
            raise FieldError(f"packed decimal X'{nibbles.upper()}' is negative in an unsigned item")
        return -int(digits)
    if sign not in _POSITIVE:
        raise FieldError(f"packed decimal X'{nibbles.upper()}' has no valid sign nibble")
    return int(digits)


def _unzone(item: Item, raw: bytes, cp: CodePage) -> int:
    sign = item.sign or "trailing"
    negative = False
    if picture_signed(item) and sign.endswith("separate"):
        sign_byte = raw[0] if sign == "leading_separate" else raw[-1]
        body = bytearray(raw[1:] if sign == "leading_separate" else raw[:-1])
        if sign_byte == cp.minus:
            negative = True
        elif sign_byte != cp.plus:
            raise FieldError(f"sign byte X'{sign_byte:02X}' is neither + nor -")
    else:
        index = 0 if sign == "leading" else len(raw) - 1
        punched = cp.overpunch.get(raw[index])
        if punched is None:
            raise FieldError(f"X'{raw.hex().upper()}' is not a zoned decimal number")
        digit, negative = punched
        if negative and not picture_signed(item):
            raise FieldError(f"X'{raw.hex().upper()}' is negative in an unsigned item")
        body = bytearray(raw)
        body[index] = cp.digit_byte(digit)
    text = bytes(body).translate(cp.digits)
    if not DIGITS.fullmatch(text):
        raise FieldError(f"X'{raw.hex().upper()}' is not a zoned decimal number")
    number = int(text)
    return -number if negative else number


def picture_signed(item: Item) -> bool:
    return item.picture is not None and item.picture.signed


def unscaled(item: Item, value: Any) -> int:
    """The value as an integer count of the PIC's smallest unit; FieldError if it does not fit."""
    picture = item.picture
    assert picture is not None
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise FieldError(f"{value!r} is not a number")
    try:
        if isinstance(value, str):
            exact = parse_decimal(value.strip(" "))
        else:
            exact = Decimal(str(value)) if not isinstance(value, Decimal) else value
        scaled = exact.scaleb(picture.scale, _EXACT)
    except (InvalidOperation, NotANumber):
        raise FieldError(f"{value!r} is not a number") from None
    if not scaled.is_finite() or scaled != scaled.to_integral_value():
        if picture.scale < 0:
            raise FieldError(f"{value} is not a multiple of {10**-picture.scale} (PIC {picture.text})")
        raise FieldError(f"{value} has more than {picture.scale} decimal places (PIC {picture.text})")
    number = int(scaled)
    if number < 0 and not picture.signed:
        raise FieldError(f"{value} is negative but PIC {picture.text} is unsigned")
    limit = 10**picture.digits
    if item.usage == "native":
        bits = item.size * 8
        low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if picture.signed else (0, (1 << bits) - 1)
        if not low <= number <= high:
            raise FieldError(f"{value} does not fit {item.size} bytes of COMP-5")
    elif abs(number) >= limit:
        raise FieldError(f"{value} has more than {picture.digits} digits (PIC {picture.text})")
    return number


def encode(item: Item, value: Any, opts: FieldOptions) -> bytes:
    picture = item.picture
    assert picture is not None
    cp = opts.codepage
    if value is None:
        return bytes([cp.space]) * item.size
    if picture.kind == "alphanumeric":
        text = value if isinstance(value, str) else str(value)
        try:
            data = text.encode(cp.encoding)
        except UnicodeEncodeError as exc:
            raise FieldError(f"{text!r} cannot be written in {cp.encoding}: {exc.reason}") from None
        if len(data) > item.size:
            raise FieldError(f"{text!r} is longer than {item.size} bytes (PIC {picture.text})")
        return data + bytes([cp.space]) * (item.size - len(data))
    if picture.kind == "float":
        return _encode_float(item, value, opts)
    number = unscaled(item, value)
    if picture.kind == "edited":
        assert picture.edit is not None
        try:
            return write_edited(number, picture.edit, item.blank_when_zero).encode(cp.encoding)
        except (EditError, UnicodeEncodeError) as exc:
            raise FieldError(f"{value}: {exc}") from None
    if item.usage in ("binary", "native"):
        return number.to_bytes(item.size, opts.byteorder, signed=picture.signed)
    if item.usage == "packed":
        nibbles = str(abs(number)).zfill(item.size * 2 - 1)
        sign = ("d" if number < 0 else "c") if picture.signed else "f"
        return bytes.fromhex(nibbles + sign)
    if number == 0 and item.blank_when_zero:
        return bytes([cp.space]) * item.size
    digits = bytearray(cp.digit_byte(int(c)) for c in str(abs(number)).zfill(picture.digits))
    if picture.point is not None:
        digits.insert(picture.point, cp.point)
    sign = item.sign or "trailing"
    if not picture.signed:
        return bytes(digits)
    if sign == "leading_separate":
        return bytes([cp.minus if number < 0 else cp.plus]) + bytes(digits)
    if sign == "trailing_separate":
        return bytes(digits) + bytes([cp.minus if number < 0 else cp.plus])
    index = 0 if sign == "leading" else len(digits) - 1
    digits[index] = cp.signed_byte(digits[index] & 0x0F, number < 0)
    return bytes(digits)


def _encode_float(item: Item, value: Any, opts: FieldOptions) -> bytes:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise FieldError(f"{value!r} is not a number")
    try:
        number = float(value)
    except ValueError:
        raise FieldError(f"{value!r} is not a number") from None
    little = opts.float_format.endswith("little_endian")
    if opts.float_format.startswith("ieee754"):
        try:
            return struct.pack(("<" if little else ">") + ("f" if item.size == 4 else "d"), number)
        except OverflowError:
            raise FieldError(f"{value} does not fit a {item.size}-byte float") from None
    data = float_to_ibm(number, item.size)
    return data[::-1] if little else data
