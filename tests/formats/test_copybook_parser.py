"""Copybook text handling, code pages, framing and the errors a user sees."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest

from interlace.errors import ParseError
from interlace.formats.copybook import CopybookCodec, CopybookFormat
from interlace.formats.copybook.parser import CopybookError, parse_copybook


def make(text: str, **options: object) -> CopybookCodec:
    return CopybookCodec(CopybookFormat.model_validate({"copybook_text": text, **options}))


FREE = """*> free format, no sequence area
01 ORDER-REC.
  05 ORDER-ID PIC X(4).   *> trailing comment
  05 STATE PIC X VALUE 'N'.
     88 IS-NEW VALUE 'N'.
     88 IS-DONE VALUES ARE 'D' 'X'.
     88 IS-BLANK VALUE SPACES.
  05 PRICE PIC 9(3)V99.
     88 FREE-OF-CHARGE VALUE ZERO.
  05 FILLER PIC X(2) VALUE '**'.
  05 PRINTED PIC ZZ9.99-.
  05 NOTE PIC X(5) JUSTIFIED RIGHT.
  05 QTY PIC 9(3) BLANK WHEN ZERO.
66 ALIAS RENAMES ORDER-ID.
"""


def test_free_format_conditions_filler_value_and_edited_pictures() -> None:
    codec = make(FREE, encoding="ascii")
    assert codec.record.size == 4 + 1 + 5 + 2 + 7 + 5 + 3
    value = codec.decode(b"A001D00000**  1.50-NOTE 007")
    assert value == {
        "ORDER-ID": "A001",
        "STATE": "D",
        "IS-NEW": False,
        "IS-DONE": True,
        "IS-BLANK": False,
        "PRICE": Decimal("0.00"),
        "FREE-OF-CHARGE": True,
        "PRINTED": Decimal("-1.50"),  # numeric-edited: read as the number it prints
        "NOTE": "NOTE",
        "QTY": 7,
    }
    out = codec.encode({**value, "STATE": " "})
    assert out[10:12] == b"**"  # FILLER written from its VALUE
    assert codec.decode(out)["IS-BLANK"] is True


def test_items_before_any_01_form_one_record_and_77_is_a_record() -> None:
    [record] = parse_copybook("       05 A PIC X.\n       05 B PIC 9.\n")
    assert record.name == "RECORD" and [c.name for c in record.children] == ["A", "B"]
    records = parse_copybook("       77 COUNTER PIC 9(4) COMP.\n       01 R.\n          05 X PIC X.\n")
    assert [r.name for r in records] == ["COUNTER", "R"]
    codec = make("       77 COUNTER PIC 9(4) COMP.\n       01 R.\n          05 X PIC X.\n", record="R")
    assert codec.record.name == "R"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("       01 R.\n          05 F PIC S9(4) COMP-1.\n", "COMP-1"),
        ("       01 R.\n          05 F PIC S9(4) COMP SYNC.\n", "SYNCHRONIZED"),
        ("       01 R.\n          05 A PIC X.\n          05 B REDEFINES Z PIC X.\n", "REDEFINES Z"),
        ("       01 R.\n          05 A OCCURS 1 TO 3 DEPENDING ON N.\n             10 B PIC X.\n", "DEPENDING ON N"),
        ("       01 R.\n          05 A PIC X.\n          05 A PIC X.\n", "appears twice"),
        ("       01 R.\n          05 A PIC X.\n             10 B PIC X.\n", "cannot hold"),
        ("       01 R.\n          05 A PIC 9(39) COMP.\n", "more than 38 digits"),
        ("       01 R.\n          05 A PIC X(3) COMP-3.\n", "must be DISPLAY"),
        ("       01 R.\n          05 A PIC 9P9.\n", "P must lead"),
        ("       01 R.\n          05 A PIC S9(4) COMP SIGN LEADING SEPARATE.\n", "only for DISPLAY"),
        ("       01 R.\n          05 A COMP-2 PIC 9.\n", "take no PIC"),
        ("       01 R.\n          COPY NOWHERE.\n", "COPY NOWHERE: no such member"),
        ("       01 R.\n          05 A.\n", "neither PIC nor items"),
    ],
)
def test_copybook_mistakes_are_named_with_their_line(text: str, message: str) -> None:
    with pytest.raises(CopybookError) as caught:
        make(text)
    assert message in str(caught.value)
    assert "line " in str(caught.value)


def test_missing_copybook_file_and_unknown_record() -> None:
    with pytest.raises(CopybookError, match="cannot read the copybook"):
        CopybookCodec(CopybookFormat(copybook="/nonexistent/x.cpy"))
    with pytest.raises(CopybookError, match="no 01 record named NOPE"):
        make("       01 R.\n          05 A PIC X.\n", record="NOPE")


SIGNED = "       01 R.\n          05 N PIC S9(3).\n"


@pytest.mark.parametrize(
    ("encoding", "value", "raw"),
    [
        ("cp037", -123, b"\xf1\xf2\xd3"),
        ("cp500", 123, b"\xf1\xf2\xc3"),
        ("cp273", -120, b"\xf1\xf2\xd0"),  # cp273 shows X'D0' as 'ü': signs are bytes, not letters
        ("cp273", 120, b"\xf1\xf2\xc0"),
        ("cp1047", -5, b"\xf0\xf0\xd5"),
        ("ascii", -123, b"12L"),
        ("ascii", 120, b"12{"),
        ("latin-1", -120, b"12}"),
    ],
)
def test_overpunched_signs_per_code_page(encoding: str, value: int, raw: bytes) -> None:
    codec = make(SIGNED, encoding=encoding)
    assert codec.encode({"N": value}) == raw
    assert codec.decode(raw) == {"N": value}


def test_other_sign_conventions_are_read() -> None:
    assert make(SIGNED, encoding="ascii").decode(b"12s") == {"N": -123}  # Micro Focus p-y
    assert make(SIGNED, encoding="cp037").decode(b"\xf1\xf2\xf3") == {"N": 123}  # F zone: unsigned
    [record] = list(make(SIGNED, encoding="cp037").read(io.BytesIO(b"\xf1\xf2\xe3"), name="f"))
    assert record.error is not None and record.error.field == "N"  # 'T' is no overpunched digit


def test_blank_numbers_follow_the_option() -> None:
    text = "       01 R.\n          05 N PIC 9(3).\n          05 P PIC S9(3) COMP-3.\n"
    blank = b"\x40" * 3 + b"\x00\x00"
    assert make(text, blank_numeric="null").decode(blank) == {"N": None, "P": None}
    assert make(text, blank_numeric="zero").decode(blank) == {"N": 0, "P": 0}
    [record] = list(make(text).read(io.BytesIO(blank), name="x.dat"))
    assert record.error is not None and record.error.field == "N" and record.error.offset == 0


BAD = "       01 R.\n          05 K PIC X(2).\n          05 N PIC 9(2).\n          05 P PIC S9(3) COMP-3.\n"


def test_each_bad_record_names_file_record_offset_and_field_and_reading_goes_on() -> None:
    good = b"AA12\x12\x3c"
    bad_zoned = b"BB1X\x12\x3c"
    bad_packed = b"CC12\x1a\x3c"
    bad_sign = b"DD12\x12\x37"
    ebcdic = bytes.maketrans(b"ABCD12X", b"\xc1\xc2\xc3\xc4\xf1\xf2\xe7")
    data = (good + bad_zoned + bad_packed + bad_sign + good).translate(ebcdic)
    records = list(make(BAD).read(io.BytesIO(data), name="in/x.dat"))
    assert [r.error is None for r in records] == [True, False, False, False, True]
    errors = [r.error for r in records if r.error is not None]
    assert [(e.record, e.offset, e.field) for e in errors] == [(2, 6 + 2, "N"), (3, 12 + 4, "P"), (4, 18 + 4, "P")]
    assert "non-digit" in str(errors[1]) and "sign" in str(errors[2])
    assert str(errors[0]).startswith("file in/x.dat, record 2, byte 8, field N:")


def test_occurs_depending_on_out_of_range_is_a_record_error() -> None:
    text = "       01 R.\n          05 N PIC 9.\n          05 A OCCURS 1 TO 3 DEPENDING ON N PIC X.\n"
    records = list(make(text, encoding="ascii", record_format="lines").read(io.BytesIO(b"2ab\n5abc\n"), name="f"))
    assert records[0].value == {"N": 2, "A": ["a", "b"]}
    assert records[1].error is not None and records[1].error.field == "A" and records[1].error.offset == 4 + 1
    assert "outside OCCURS 1 TO 3" in str(records[1].error)
    assert records[1].raw == b"5abc\n"  # the line as read, so an error file keeps one record a line


def test_broken_framing_stops_with_an_error() -> None:
    text = "       01 R.\n          05 A PIC X(4).\n"
    fixed = list(make(text).read(io.BytesIO(b"\xc1" * 6), name="f"))
    assert fixed[0].value == {"A": "AAAA"} and fixed[1].error is not None and "ends 2 bytes" in str(fixed[1].error)
    rdw = list(make(text, record_format="rdw").read(io.BytesIO(b"\x00\x02\x00\x00"), name="f"))
    assert len(rdw) == 1 and rdw[0].error is not None and "invalid RDW" in str(rdw[0].error)
    cut = list(make(text, record_format="rdw").read(io.BytesIO(b"\x00\x08\x00\x00\xc1"), name="f"))
    assert cut[0].error is not None and "ends inside a record" in str(cut[0].error)
    assert isinstance(cut[0].error, ParseError)


def test_values_that_do_not_fit_are_refused_when_writing() -> None:
    codec = make("       01 R.\n          05 N PIC 9(3)V9.\n          05 T PIC X(2).\n")
    for record, message in [
        ({"N": 1000, "T": ""}, "more than 4 digits"),
        ({"N": Decimal("1.25"), "T": ""}, "decimal places"),
        ({"N": -1, "T": ""}, "unsigned"),
        ({"N": 1, "T": "abc"}, "longer than 2 bytes"),
        ({"N": 1}, "T: is missing"),
        ({"N": "x", "T": ""}, "not a number"),
    ]:
        with pytest.raises(ValueError, match=message):
            codec.encode(record)


def test_unknown_redefines_selection_is_refused() -> None:
    text = "       01 R.\n          05 K PIC X.\n          05 A PIC X(2).\n          05 B REDEFINES A PIC 99.\n"
    with pytest.raises(CopybookError, match="C is not A"):
        make(text, redefines={"A": {"field": "K", "when": {"1": "C"}}})
    codec = make(text, encoding="ascii", redefines={"A": {"field": "K", "when": {"1": "A", "2": "B"}}})
    assert codec.decode(b"212") == {"K": "2", "B": 12}
    [record] = list(codec.read(io.BytesIO(b"312"), name="f"))
    assert record.error is not None and "selects none" in str(record.error)
