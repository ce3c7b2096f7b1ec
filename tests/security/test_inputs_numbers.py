"""Defect 11 of issue 13: numbers in fixed layouts are ASCII digits with a sign, never Python's own
number syntax. `int("1_000000")` is 1000000 and `Decimal("NaN")` is a number to Python; to a record
layout they are bad data, refused with the field's name and offset."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest

from interlace.formats import codec_for, parse_format
from interlace.formats.copybook import CopybookCodec, CopybookFormat
from interlace.formats.numbers import NotANumber, parse_decimal, parse_int

LAYOUT = {
    "fields": [
        {"name": "id", "length": 7, "type": "int"},
        {"name": "amount", "length": 8, "type": "decimal", "decimals": 2},
    ]
}
PYTHON_ONLY = ["1_00000", "\t000012", "0x00012", "1e00005", "   +-12", "\u0661\u0662\u0663\u0664567", " 12 34 "]


@pytest.mark.parametrize("encoding", ["ascii", "cp037"])
@pytest.mark.parametrize("text", PYTHON_ONLY)
def test_fixed_width_ints_refuse_python_syntax(encoding: str, text: str) -> None:
    codec = codec_for(parse_format({**LAYOUT, "encoding": encoding}))
    data = text.encode(encoding, "replace") + "00012.50".encode(encoding) + b"\n"
    if len(data) != 16:
        pytest.skip(f"{text!r} is not 7 bytes in {encoding}")
    (record,) = codec.read(io.BytesIO(data), name="pay.txt")
    assert record.value is None and record.error is not None
    assert (record.error.field, record.error.offset) == ("id", 0)


@pytest.mark.parametrize("text", ["1_000.5 ", "     NaN", "Infinity", "   1e-02", "  1.2.3 "])
def test_fixed_width_decimals_refuse_python_syntax(text: str) -> None:
    codec = codec_for(parse_format(LAYOUT))
    (record,) = codec.read(io.BytesIO(b"0000001" + text.encode() + b"\n"), name="pay.txt")
    assert record.error is not None and (record.error.field, record.error.offset) == ("amount", 7)


def test_fixed_width_numbers_that_are_numbers_still_read() -> None:
    codec = codec_for(parse_format(LAYOUT))
    data = b"1000000 0001250\n   12- 12.50- \n+000012    .50\n"
    assert [r.value for r in codec.read(io.BytesIO(data))] == [
        {"id": 1000000, "amount": Decimal("12.50")},
        {"id": -12, "amount": Decimal("-12.50")},
        {"id": 12, "amount": Decimal("0.50")},
    ]


def test_writing_refuses_python_syntax_too() -> None:
    codec = codec_for(parse_format(LAYOUT))
    for record in ({"id": "1_000"}, {"amount": "1_0.50"}, {"amount": "NaN"}, {"amount": float("inf")}):
        with pytest.raises(ValueError, match="not"):
            codec.writer(io.BytesIO()).write(record)


def test_copybook_display_numbers_refuse_python_syntax() -> None:
    text = "       01  REC.\n           05  QTY PIC 9(7).\n           05  PRICE PIC S9(5)V99.\n"
    codec = CopybookCodec(CopybookFormat(copybook_text=text, encoding="ascii"))
    good, bad = list(codec.read(io.BytesIO(b"00012340012345" + b"1_00000" + b"0012345")))
    assert good.value == {"QTY": 1234, "PRICE": Decimal("123.45")}
    assert bad.error is not None and "QTY" in str(bad.error)
    with pytest.raises(ValueError):
        codec.writer(io.BytesIO()).write({"QTY": 1, "PRICE": "1_0.00"})


def test_the_grammar() -> None:
    assert [parse_int(t) for t in ("0", "+7", "-7", "7-", "007+")] == [0, 7, -7, -7, 7]
    assert [parse_decimal(t) for t in ("1.50", ".5", "5.", "-0.5", "0.5-")] == [
        Decimal("1.50"),
        Decimal(".5"),
        Decimal("5"),
        Decimal("-0.5"),
        Decimal("-0.5"),
    ]
    for bad in ("", "+", "1_0", " 1", "1 ", "--1", "+1-", "1e5", "\u0661", "\uff11", "0x1", "nan", "inf"):
        with pytest.raises(NotANumber):
            parse_int(bad)
        with pytest.raises(NotANumber):
            parse_decimal(bad)
