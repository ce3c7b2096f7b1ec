"""The reading options: code pages, trimming, control characters, low-values, FILLERs, REDEFINES
views, the field-level error policy, COPY members; each decoding hand-made bytes to exact values."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import pytest

from interlace.formats.copybook import CopybookCodec, CopybookFormat
from interlace.formats.copybook.codepage import CodePage
from interlace.formats.copybook.config import ENCODINGS
from interlace.formats.copybook.parser import CopybookError


def make(text: str, **options: object) -> CopybookCodec:
    return CopybookCodec(CopybookFormat.model_validate({"copybook_text": text, **options}))


TEXT = "       01  R.\n           05  A  PIC X(6).\n"


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_every_listed_code_page_exists_with_ebcdic_digits_blank_and_signs(encoding: str) -> None:
    page = CodePage(encoding)
    assert page.ebcdic and page.space == 0x40 and page.point == 0x4B
    assert page.digits[0xF0:0xFA] == b"0123456789"
    assert (page.plus, page.minus) == (0x4E, 0x60)
    codec = make("       01  R.\n           05  N  PIC S9(3).\n           05  T  PIC X(3).\n", encoding=encoding)
    assert codec.decode(bytes.fromhex("F1F2D3C1C2C3")) == {"N": -123, "T": "ABC"}
    table = bytes(range(256)).decode(encoding)  # every byte decodes
    for byte, char in enumerate(table):
        if char.isprintable() and table.count(char) == 1:  # X'15'/X'25' may both be newline (docs)
            assert char.encode(encoding) == bytes([byte])


def test_euro_variants_differ_from_their_base_only_where_the_euro_is() -> None:
    assert bytes([0x9F]).decode("cp1140") == "€" and bytes([0x9F]).decode("cp037") == "¤"
    assert make(TEXT, encoding="cp1141").decode(bytes.fromhex("9FF1F0404040")) == {"A": "€10"}
    assert make(TEXT, encoding="cp273").decode(bytes.fromhex("C0D0A1404040")) == {"A": "äüß"}
    assert make(TEXT, encoding="cp875").decode(bytes.fromhex("414243404040")) == {"A": "ΑΒΓ"}


@pytest.mark.parametrize(("trim", "value"), [("none", "  AB  "), ("left", "AB  "), ("right", "  AB"), ("both", "AB")])
def test_trimming(trim: str, value: str) -> None:
    assert make(TEXT, trim=trim).decode(bytes.fromhex("4040C1C24040")) == {"A": value}


def test_strip_is_the_older_spelling() -> None:
    assert make(TEXT, strip=False).decode(bytes.fromhex("4040C1C24040")) == {"A": "  AB  "}
    assert make(TEXT, strip=True).decode(bytes.fromhex("4040C1C24040")) == {"A": "  AB"}


def test_control_characters_and_low_values() -> None:
    raw = bytes.fromhex("C105C200C340")  # A, HT, B, low-value, C, blank
    assert make(TEXT).decode(raw) == {"A": "A\tB\x00C"}
    assert make(TEXT, control_characters="blank").decode(raw) == {"A": "A B C"}
    assert make(TEXT, low_values="blank").decode(raw) == {"A": "A\tB C"}
    assert make(TEXT, low_values="null").decode(bytes(6)) == {"A": None}
    assert make(TEXT, low_values="null").decode(raw) == {"A": "A\tB\x00C"}  # only an all-X'00' item
    assert make(TEXT).decode(bytes(6)) == {"A": "\x00" * 6}


FILLERS = """
       01  R.
           05  A       PIC X.
           05  FILLER  PIC X(2).
           05  G.
               10  FILLER  PIC 9.
               10  B       PIC X.
           05  FILLER.
               10  C   PIC X.
"""


def test_fillers_are_dropped_or_kept_named_after_the_item_before() -> None:
    assert make(FILLERS, encoding="ascii").decode(b"a--1bc") == {"A": "a", "G": {"B": "b"}}
    kept = make(FILLERS, encoding="ascii", fillers="keep").decode(b"a--1bc")
    assert kept == {
        "A": "a",
        "FILLER-AFTER-A": "--",
        "G": {"FILLER-AFTER-G": 1, "B": "b"},
        "FILLER-AFTER-G": {"C": "c"},
    }
    snake = make(FILLERS, encoding="ascii", fillers="keep", names="snake").decode(b"a--1bc")
    assert snake["filler_after_a"] == "--" and snake["g"] == {"filler_after_g": 1, "b": "b"}


REDEFINED = """
       01  R.
           05  KIND      PIC X.
           05  AMOUNT    PIC 9(4).
           05  CODE      REDEFINES AMOUNT PIC X(4).
           05  PARTS     REDEFINES AMOUNT.
               10  P1    PIC 99.
               10  P2    PIC S99.
"""


def test_every_redefines_view_or_only_the_active_one() -> None:
    assert make(REDEFINED, encoding="ascii").decode(b"N0012") == {"KIND": "N", "AMOUNT": 12}
    every = make(REDEFINED, encoding="ascii", redefines_view="all")
    assert every.decode(b"N0012") == {"KIND": "N", "AMOUNT": 12, "CODE": "0012", "PARTS": {"P1": 0, "P2": 12}}
    assert every.decode(b"XAB1L") == {"KIND": "X", "AMOUNT": None, "CODE": "AB1L", "PARTS": None}
    choice = {"AMOUNT": {"field": "KIND", "when": {"N": "AMOUNT", "X": "CODE"}}}
    chosen = make(REDEFINED, encoding="ascii", redefines_view="all", redefines=choice)
    [bad] = list(chosen.read(io.BytesIO(b"NAB1L"), name="f"))  # the active one must decode
    assert bad.error is not None and bad.error.field == "AMOUNT"


ACCOUNTS = """
       01  ACCOUNT.
           05  ACCT-NO   PIC 9(6).
           05  HOLDER    PIC X(10).
           05  BALANCE   PIC S9(9)V99 COMP-3.
           05  HISTORY   OCCURS 2 TIMES.
               10  AMT   PIC S9(3) COMP-3.
           05  OPENED    PIC 9(8).
"""
GOOD = "F0F0F0F0F0F1" + "C1D5D540404040404040" + "00000001025D" + "001C002D" + "F2F0F2F4F0F1F3F1"


def test_the_field_level_policy_keeps_the_record_and_lists_the_bad_items() -> None:
    bad = bytearray.fromhex(GOOD)
    bad[16:22] = bytes.fromhex("000000010257")  # BALANCE: 7 is no sign nibble
    bad[24:26] = bytes.fromhex("00AA")  # HISTORY[2].AMT: no digit
    data = bytes.fromhex(GOOD) + bytes(bad)
    strict = list(make(ACCOUNTS).read(io.BytesIO(data), name="f"))
    assert strict[0].value is not None and strict[1].error is not None and strict[1].error.field == "BALANCE"
    lenient = list(make(ACCOUNTS, errors="field").read(io.BytesIO(data), name="f"))
    assert lenient[0].value == {
        "ACCT-NO": 1,
        "HOLDER": "ANN",
        "BALANCE": Decimal("-10.25"),
        "HISTORY": [{"AMT": 1}, {"AMT": -2}],
        "OPENED": 20240131,
    }
    assert lenient[1].error is None and lenient[1].value == {
        "ACCT-NO": 1,
        "HOLDER": "ANN",
        "BALANCE": None,
        "HISTORY": [{"AMT": 1}, {"AMT": None}],
        "OPENED": 20240131,
        "_errors": [
            {
                "field": "BALANCE",
                "offset": 34 + 16,
                "message": "packed decimal X'000000010257' has no valid sign nibble",
                "raw": "000000010257",
            },
            {
                "field": "HISTORY[2].AMT",
                "offset": 34 + 24,
                "message": "packed decimal X'00AA' holds a non-digit nibble",
                "raw": "00AA",
            },
        ],
    }
    named = make(ACCOUNTS, errors="field", errors_key="_corrupt_fields").decode(bytes(bad))
    assert [e["field"] for e in named["_corrupt_fields"]] == ["BALANCE", "HISTORY[2].AMT"]


def test_under_the_field_level_policy_framing_and_counts_still_fail_the_record() -> None:
    text = "       01  R.\n           05  N  PIC 9.\n           05  A  OCCURS 1 TO 3 DEPENDING ON N PIC 9.\n"
    [bad_count, bad_digit] = list(
        make(text, encoding="ascii", record_format="lines", errors="field").read(io.BytesIO(b"X1\n2x1\n"), name="f")
    )
    assert bad_count.error is not None and "outside OCCURS" in bad_count.error.reason
    assert (
        bad_digit.value is not None
        and bad_digit.value["A"] == [None, 1]
        and bad_digit.value["_errors"][0]["field"] == "A[1]"
    )


def test_copy_members_from_the_copybook_folder_and_the_library(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "ADDRESS.cpy").write_text("           10  :P:-STREET  PIC X(4).\n           COPY CITY.\n")
    (tmp_path / "lib" / "city.cbl").write_text("           10  :P:-CITY    PIC X(3).\n")
    (tmp_path / "MAIN.cpy").write_text(
        "       01  R.\n"
        "           05  HOME.\n"
        "           COPY ADDRESS OF MYLIB REPLACING ==:P:== BY ==HOME==.\n"
        "           05  WORK.\n"
        "           COPY 'ADDRESS' REPLACING ==:P:== BY ==WORK==.\n"
        "           COPY TAIL.\n"
    )
    (tmp_path / "TAIL").write_text("           05  N  PIC 9.\n")
    config = CopybookFormat(copybook=tmp_path / "MAIN.cpy", copybook_library=[tmp_path / "lib"], encoding="ascii")
    codec = CopybookCodec(config)
    assert codec.decode(b"MainOslDockBer7") == {
        "HOME": {"HOME-STREET": "Main", "HOME-CITY": "Osl"},
        "WORK": {"WORK-STREET": "Dock", "WORK-CITY": "Ber"},
        "N": 7,
    }


def test_copy_errors_name_the_member_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "BAD.cpy").write_text("           05  A  PIC X.\n           05  B  PIC Q.\n")
    (tmp_path / "LOOP.cpy").write_text("           COPY LOOP.\n")
    with pytest.raises(CopybookError) as caught:
        CopybookCodec(CopybookFormat(copybook_text="       01 R.\n           COPY BAD.\n"), base_dir=tmp_path)
    assert "BAD.cpy" in str(caught.value) and "line 2" in str(caught.value)
    with pytest.raises(CopybookError, match="nested more than"):
        CopybookCodec(CopybookFormat(copybook_text="       01 R.\n           COPY LOOP.\n"), base_dir=tmp_path)
    with pytest.raises(CopybookError, match="REPLACING needs BY"):
        CopybookCodec(
            CopybookFormat(copybook_text="       01 R.\n           COPY BAD REPLACING X.\n"), base_dir=tmp_path
        )
