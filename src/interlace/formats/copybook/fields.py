"""Decoding and encoding of elementary items: DISPLAY text and zoned numbers, binary, packed.

Numbers with implied decimals (V) are `decimal.Decimal` with exactly that many decimal places;
integers are `int`. Encoding refuses a value that does not fit the PIC (too many digits, too many
decimals, a negative number in an unsigned item) rather than truncating it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Context, Decimal, InvalidOperation
from typing import Any, Literal

from interlace.formats.copybook.codepage import CodePage
from interlace.formats.copybook.model import Item
from interlace.formats.copybook.picture import Picture
from interlace.formats.numbers import DIGITS, NotANumber, parse_decimal

Blank = Literal["error", "null", "zero"]
_EXACT = Context(prec=100)  # scaling must never round (the default context keeps 28 digits)
_POSITIVE = "cfae"
_NEGATIVE = "db"


class FieldError(ValueError):
    """An item's bytes or value are wrong; the codec adds file, record, offset and path."""


@dataclass
class FieldOptions:
    codepage: CodePage
    strip: bool = True
    blank_numeric: Blank = "error"
    byteorder: Literal["big", "little"] = "big"


def _scaled(number: int, picture: Picture) -> int | Decimal:
    return Decimal(number).scaleb(-picture.scale, _EXACT) if picture.scale else number


def decoder_for(item: Item, opts: FieldOptions) -> Callable[[bytes], Any]:
    """A function decoding this item's bytes, specialised once for its PIC, usage and sign."""
    picture = item.picture
    assert picture is not None
    encoding = opts.codepage.encoding
    if picture.kind != "numeric":
        if opts.strip:
            return lambda raw: raw.decode(encoding).rstrip(" ")
        return lambda raw: raw.decode(encoding)
    scale = picture.scale
    if item.usage in ("binary", "native"):
        order, signed = opts.byteorder, picture.signed
        if scale:
            return lambda raw: Decimal(int.from_bytes(raw, order, signed=signed)).scaleb(-scale, _EXACT)
        return lambda raw: int.from_bytes(raw, order, signed=signed)
    spaces, low = bytes([opts.codepage.space]) * item.size, bytes(item.size)
    packed = item.usage == "packed"
    cp = opts.codepage

    digits = cp.digits
    plain = DIGITS.fullmatch

    def number(raw: bytes) -> Any:
        if raw in (spaces, low):
            return _blank(picture, opts)
        if packed:
            whole = _unpack(raw, picture)
        else:
            text = raw.translate(digits)  # plain digits (no sign zone) take the short way
            whole = int(text) if plain(text) else _unzone(item, raw, cp)
        return Decimal(whole).scaleb(-scale, _EXACT) if scale else whole

    return number


def _blank(picture: Picture, opts: FieldOptions) -> Any:
    if opts.blank_numeric == "null":
        return None
    if opts.blank_numeric == "zero":
        return _scaled(0, picture)
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
    if picture.kind != "numeric":
        text = value if isinstance(value, str) else str(value)
        try:
            data = text.encode(cp.encoding)
        except UnicodeEncodeError as exc:
            raise FieldError(f"{text!r} cannot be written in {cp.encoding}: {exc.reason}") from None
        if len(data) > item.size:
            raise FieldError(f"{text!r} is longer than {item.size} bytes (PIC {picture.text})")
        return data + bytes([cp.space]) * (item.size - len(data))
    number = unscaled(item, value)
    if item.usage in ("binary", "native"):
        return number.to_bytes(item.size, opts.byteorder, signed=picture.signed)
    if item.usage == "packed":
        nibbles = str(abs(number)).zfill(item.size * 2 - 1)
        sign = ("d" if number < 0 else "c") if picture.signed else "f"
        return bytes.fromhex(nibbles + sign)
    digits = bytearray(cp.digit_byte(int(c)) for c in str(abs(number)).zfill(picture.digits))
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
