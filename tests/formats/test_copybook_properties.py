"""Property tests: any value that fits a PIC clause encodes and decodes back, for every usage,
sign mode and code page."""

from __future__ import annotations

from decimal import Context, Decimal
from functools import cache

from hypothesis import given, settings
from hypothesis import strategies as st

from interlace.formats.copybook import CopybookCodec, CopybookFormat

USAGES = ["", "DISPLAY", "COMP", "COMP-0", "COMP-4", "BINARY", "COMP-5", "COMP-3", "PACKED-DECIMAL"]
SIGNS = ["unsigned", "", "SIGN LEADING", "SIGN TRAILING", "SIGN LEADING SEPARATE", "SIGN TRAILING SEPARATE"]
ENCODINGS = ["cp037", "cp500", "cp273", "cp1047", "ascii", "latin-1"]


@cache
def codec(usage: str, sign: str, digits: int, scale: int, encoding: str, byteorder: str) -> CopybookCodec:
    integer = digits - scale
    picture = (
        ("S" if sign != "unsigned" else "") + (f"9({integer})" if integer else "") + (f"V9({scale})" if scale else "")
    )
    clauses = " ".join(c for c in (usage, "" if sign == "unsigned" else sign) if c)
    text = f"       01  REC.\n           05  AMOUNT PIC {picture} {clauses}.\n           05  TAIL PIC X.\n"
    config = CopybookFormat(copybook_text=text, encoding=encoding, byteorder=byteorder)  # type: ignore[arg-type]
    return CopybookCodec(config)


@st.composite
def numeric_case(draw: st.DrawFn) -> tuple[CopybookCodec, int | Decimal]:
    usage = draw(st.sampled_from(USAGES))
    binary = usage in ("COMP", "COMP-0", "COMP-4", "BINARY", "COMP-5")
    display = usage in ("", "DISPLAY")
    sign = draw(st.sampled_from([s for s in SIGNS if display or "SEPARATE" not in s]))
    digits = draw(st.integers(1, 18 if binary else 31))
    scale = draw(st.integers(0, digits))
    encoding = draw(st.sampled_from(ENCODINGS))
    byteorder = draw(st.sampled_from(["big", "little"])) if binary else "big"
    chosen = codec(usage, sign, digits, scale, encoding, byteorder)
    item = chosen.record.children[0]
    signed = sign != "unsigned"
    if usage == "COMP-5":
        bits = item.size * 8
        low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    else:
        high = 10**digits - 1
        low = -high if signed else 0
    number = draw(st.integers(low, high))
    return chosen, (Decimal(number).scaleb(-scale, Context(prec=100)) if scale else number)


@settings(max_examples=600, deadline=None)
@given(numeric_case())
def test_any_number_that_fits_the_picture_round_trips(case: tuple[CopybookCodec, int | Decimal]) -> None:
    chosen, value = case
    record = {"AMOUNT": value, "TAIL": "Z"}
    data = chosen.encode(record)
    assert len(data) == chosen.record.size
    decoded = chosen.decode(data)
    assert decoded == record
    assert type(decoded["AMOUNT"]) is type(value)
    if isinstance(value, Decimal):
        assert decoded["AMOUNT"].as_tuple().exponent == value.as_tuple().exponent


@cache
def printable(encoding: str) -> list[str]:
    chars = []
    for byte in range(256):
        char = bytes([byte]).decode(encoding, errors="replace")
        if char.isprintable() and char != "\ufffd" and len(char.encode(encoding, errors="ignore")) == 1:
            chars.append(char)
    return chars


@cache
def text_codec(encoding: str, length: int) -> CopybookCodec:
    text = f"       01  REC.\n           05  NAME PIC X({length}).\n"
    return CopybookCodec(CopybookFormat(copybook_text=text, encoding=encoding))


@st.composite
def text_case(draw: st.DrawFn) -> tuple[CopybookCodec, str]:
    encoding = draw(st.sampled_from(ENCODINGS))
    length = draw(st.integers(1, 40))
    chosen = text_codec(encoding, length)
    value = draw(st.text(st.sampled_from(printable(encoding)), max_size=length)).rstrip(" ")
    return chosen, value


@settings(max_examples=300, deadline=None)
@given(text_case())
def test_any_text_that_fits_the_picture_round_trips(case: tuple[CopybookCodec, str]) -> None:
    chosen, value = case
    assert chosen.decode(chosen.encode({"NAME": value})) == {"NAME": value}


ODO = """
       01  REC.
           05  N        PIC 9(2).
           05  ITEMS    OCCURS 0 TO 12 TIMES DEPENDING ON N.
               10  CODE PIC X(3).
               10  QTY  PIC S9(5) COMP-3.
           05  AFTER    PIC X(2).
"""


@cache
def odo_codec() -> CopybookCodec:
    return CopybookCodec(CopybookFormat(copybook_text=ODO, record_format="rdw"))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.text("ABC123", max_size=3), st.integers(-99999, 99999)), max_size=12))
def test_occurs_depending_on_round_trips_in_rdw_records(items: list[tuple[str, int]]) -> None:
    import io

    chosen = odo_codec()
    record = {"N": len(items), "ITEMS": [{"CODE": c, "QTY": q} for c, q in items], "AFTER": "OK"}
    out = io.BytesIO()
    chosen.writer(out).write(record)
    assert len(out.getvalue()) == 4 + 2 + 6 * len(items) + 2  # the items after ODO move up
    assert list(chosen.values(io.BytesIO(out.getvalue()))) == [record]
