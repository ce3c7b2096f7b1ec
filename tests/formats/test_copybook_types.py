"""Every item type with bytes written out by hand, then encode -> decode round trips of each
type, property-tested (numeric-edited pictures, explicit points, P scaling, binary over 18
digits, COMP-1/COMP-2 in all four float formats; the plain numeric usages and text are in
test_copybook_properties.py)."""

from __future__ import annotations

import math
import struct
from decimal import Context, Decimal
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from interlace.formats.copybook import CopybookCodec, CopybookFormat
from interlace.formats.copybook.fields import float_to_ibm, ibm_to_float

EXACT = Context(prec=100)


@cache
def one(clauses: str, encoding: str = "cp037", **options: object) -> CopybookCodec:
    text = f"       01  R.\n           05  A  {clauses}.\n"
    return CopybookCodec(CopybookFormat.model_validate({"copybook_text": text, "encoding": encoding, **options}))


@pytest.mark.parametrize(
    ("clauses", "hex_bytes", "value"),
    [
        ("PIC PPP9(2)", "F1F2", Decimal("0.00012")),  # 12 after three implied zeros
        ("PIC SVPP9(3) COMP-3", "345D", Decimal("-0.00345")),  # 3 digits: 2 bytes
        ("PIC 9(3)PP", "F1F2F3", 12300),
        ("PIC S9(2)PPP COMP", "FFF6", -10000),
        ("PIC S9(19) COMP", "FFBA9C6E7DBB0C0000", -5 * 10**18),  # 9 bytes: ~0x4563918244F40000 + 1
        ("PIC 9(38) COMP-5", "00" * 15 + "2A", 42),
        ("PIC S9(20) BINARY", "FF" * 8 + "FE", -2),  # 9 bytes for 19-20 digits
        ("PIC S9(4) COMP-0", "FFFE", -2),
        ("COMP-1", "40280000", 0.15625),  # IBM hexadecimal single: 0.28 hex x 16**0
        ("COMP-2", "C276A00000000000", -118.625),  # the classic IBM example
        ("USAGE COMPUTATIONAL-1", "41100000", 1.0),
        ("PIC Z(8)-", "40404040F1F2F3F460", -1234),
        ("PIC +9(8)", "4EF0F0F0F0F0F0F0F7", 7),
        ("PIC 9(8).9(2)", "F0F0F0F0F1F2F3F44BF5F6", Decimal("1234.56")),
        ("PIC $$$,$$9.99CR", "405BF16BF2F3F44BF5F0C3D9", Decimal("-1234.50")),
        ("PIC ***,**9.99", "5C5C5C5C5CF1F24BF3F0", Decimal("12.30")),
        ("PIC ZZ,ZZ9.99DB", "4040404040F14BF0F0C4C2", Decimal("-1.00")),
        ("PIC ---9", "404060F5", -5),
        ("PIC 99B99/99", "F1F240F3F461F5F6", 123456),
        ("PIC ZZZ.ZZ BLANK WHEN ZERO", "404040404040", Decimal("0.00")),
        ("PIC 9(3) BLANK WHEN ZERO", "404040", 0),
        ("PIC XXBXX", "C1C240C3C4", "AB CD"),  # alphanumeric-edited: text as printed
        ("PIC A(3)", "C1C2C3", "ABC"),
    ],
)
def test_each_type_decodes_hand_made_bytes(clauses: str, hex_bytes: str, value: object) -> None:
    codec = one(clauses)
    raw = bytes.fromhex(hex_bytes)
    assert codec.record.children[0].size == len(raw)
    decoded = codec.decode(raw)["A"]
    assert decoded == value and type(decoded) is type(value)
    assert codec.encode({"A": value}) == raw


def test_float_formats_and_byte_orders() -> None:
    for fmt, pack in [("ieee754", ">d"), ("ieee754_little_endian", "<d")]:
        codec = one("COMP-2", float_format=fmt)
        assert codec.decode(struct.pack(pack, -118.625)) == {"A": -118.625}
        assert codec.encode({"A": "2.5"}) == struct.pack(pack, 2.5)
    single = one("COMP-1", float_format="ieee754")
    assert single.decode(bytes.fromhex("3E200000")) == {"A": 0.15625}
    little = one("COMP-2", float_format="ibm_little_endian")
    assert little.decode(bytes.fromhex("C276A00000000000")[::-1]) == {"A": -118.625}
    group = CopybookCodec(
        CopybookFormat(
            copybook_text="       01  R.\n           05  G COMP-2.\n               10  X.\n               10  Y.\n"
        )
    )
    assert group.record.size == 16 and group.decode(bytes.fromhex("41100000000000004120000000000000")) == {
        "G": {"X": 1.0, "Y": 2.0}
    }


def test_values_that_do_not_fit_new_types_are_refused() -> None:
    for clauses, value, message in [
        ("PIC 9(3)PP", 12345, "multiple of 100"),
        ("PIC PPP9(2)", Decimal("0.001"), "more than 2 digits"),
        ("PIC Z(3)", -1, "negative"),
        ("PIC +9(2)", 100, "more than 2 digits"),
        ("COMP-2", float("inf"), "no IBM floating-point form"),
        ("COMP-1", 1e80, "outside the range"),
    ]:
        with pytest.raises(ValueError, match=message):
            one(clauses).encode({"A": value})


def test_edited_text_that_the_picture_cannot_print_is_a_field_error() -> None:
    codec = one("PIC +9(3)", "ascii")
    for raw in (b" 123", b"+12A", b"*123"):
        with pytest.raises(Exception, match=r"where the picture has|is not a sign"):
            codec.decode(raw)


# -- round trips -----------------------------------------------------------------------------

EDITED = [
    "Z(8)-", "+9(8)", "-9(5)V99", "9(6).99", "$$$,$$9.99CR", "$$$,$$9.99DB", "***,**9.99",
    "ZZ,ZZ9.99-", "---9", "+++9.99", "ZZZ.ZZ", "99B99/99", "Z9.9(3)+", "$9(4).99", "ZZ9V99",
]  # fmt: skip


@st.composite
def edited_case(draw: st.DrawFn) -> tuple[CopybookCodec, int | Decimal]:
    picture = draw(st.sampled_from(EDITED))
    encoding = draw(st.sampled_from(["cp037", "ascii", "cp1047", "cp500"]))
    codec = one(f"PIC {picture}", encoding)
    pic = codec.record.children[0].picture
    assert pic is not None
    high = 10**pic.digits - 1
    number = draw(st.integers(-high if pic.signed else 0, high))
    return codec, Decimal(number).scaleb(-pic.scale, EXACT) if pic.scale else number


@settings(max_examples=400, deadline=None)
@given(edited_case())
def test_numeric_edited_pictures_round_trip(case: tuple[CopybookCodec, int | Decimal]) -> None:
    codec, value = case
    data = codec.encode({"A": value})
    assert len(data) == codec.record.size
    decoded = codec.decode(data)["A"]
    assert decoded == value and type(decoded) is type(value)


SCALED = ["PPP9(4)", "SPP9(3)", "SVP9(5)", "9(4)PPP", "S9(3)P", "S9(3).9(2)", "9.9(6)", "S9(9)V9(9)"]
USAGES = ["", "COMP", "COMP-3", "COMP-5", "SIGN LEADING SEPARATE"]


@st.composite
def scaled_case(draw: st.DrawFn) -> tuple[CopybookCodec, int | Decimal]:
    picture = draw(st.sampled_from(SCALED))
    usage = draw(st.sampled_from([""] if "." in picture else USAGES))
    if "SEPARATE" in usage and "S" not in picture:
        usage = ""
    codec = one(f"PIC {picture} {usage}".strip(), draw(st.sampled_from(["cp037", "ascii"])))
    pic = codec.record.children[0].picture
    assert pic is not None
    high = 10**pic.digits - 1
    number = draw(st.integers(-high if pic.signed else 0, high))
    if pic.scale > 0:
        return codec, Decimal(number).scaleb(-pic.scale, EXACT)
    return codec, number * 10**-pic.scale


@settings(max_examples=300, deadline=None)
@given(scaled_case())
def test_p_scaling_and_explicit_points_round_trip(case: tuple[CopybookCodec, int | Decimal]) -> None:
    codec, value = case
    decoded = codec.decode(codec.encode({"A": value}))["A"]
    assert decoded == value and type(decoded) is type(value)
    if isinstance(value, Decimal):
        assert decoded.as_tuple().exponent == value.as_tuple().exponent


@settings(max_examples=200, deadline=None)
@given(st.integers(19, 38), st.booleans(), st.sampled_from(["COMP", "COMP-4", "BINARY", "COMP-5"]), st.data())
def test_binary_over_18_digits_round_trips(digits: int, signed: bool, usage: str, data: st.DataObject) -> None:
    codec = one(
        f"PIC {'S' if signed else ''}9({digits}) {usage}", byteorder=data.draw(st.sampled_from(["big", "little"]))
    )
    assert codec.record.size == math.ceil((digits * math.log2(10) + 1) / 8)
    high = 10**digits - 1
    value = data.draw(st.integers(-high if signed else 0, high))
    assert codec.decode(codec.encode({"A": value})) == {"A": value}


doubles = st.floats(allow_nan=False, allow_infinity=False, min_value=-7.2e75, max_value=7.2e75).filter(
    lambda x: x == 0 or abs(x) > 5.4e-79
)


@settings(max_examples=300, deadline=None)
@given(doubles, st.sampled_from(["ibm", "ibm_little_endian", "ieee754", "ieee754_little_endian"]))
def test_comp_2_round_trips_every_double_in_range(value: float, fmt: str) -> None:
    codec = one("COMP-2", float_format=fmt)
    assert codec.decode(codec.encode({"A": value})) == {"A": value}  # exact: IBM keeps >= 53 bits


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 1), st.integers(0, 127), st.integers(0x100000, 0xFFFFFF))
def test_comp_1_ibm_round_trips_every_normalised_single(sign: int, exponent: int, fraction: int) -> None:
    raw = ((sign << 31) | (exponent << 24) | fraction).to_bytes(4, "big")
    value = ibm_to_float(raw)
    assert float_to_ibm(value, 4) == raw
    codec = one("COMP-1")
    assert codec.encode(codec.decode(raw)) == raw


@settings(max_examples=200, deadline=None)
@given(
    st.floats(width=32, allow_nan=False, allow_infinity=False), st.sampled_from(["ieee754", "ieee754_little_endian"])
)
def test_comp_1_ieee_round_trips_every_single(value: float, fmt: str) -> None:
    codec = one("COMP-1", float_format=fmt)
    assert codec.decode(codec.encode({"A": value})) == {"A": value}
