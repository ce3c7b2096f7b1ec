"""The defects of issue 16, each with the bytes that showed it (checked by hand, not by the encoder)."""

from __future__ import annotations

import io
import json
from decimal import Context, Decimal
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from interlace.formats.base import jsonable
from interlace.formats.copybook import CopybookCodec, CopybookFormat
from interlace.formats.inspect import inspect_file
from interlace.formats.jsonl import JsonLinesCodec, JsonLinesFormat


def make(text: str, **options: object) -> CopybookCodec:
    return CopybookCodec(CopybookFormat.model_validate({"copybook_text": text, **options}))


ODO_NO_MIN = """
       01  CUST.
           05  NUMBER-OF-ACCTS  PIC 9(2).
           05  ACCT             OCCURS 80 DEPENDING ON NUMBER-OF-ACCTS PIC X(2).
           05  TAIL             PIC X.
"""


def test_occurs_n_depending_on_without_to_is_1_to_n() -> None:
    codec = make(ODO_NO_MIN, encoding="ascii", record_format="lines")
    assert codec.record.children[1].occurs_min == 1 and codec.record.children[1].occurs == 80
    records = list(codec.read(io.BytesIO(b"01A1Z\n03A1B2C3Z\n00Z\n81\n"), name="f"))
    assert records[0].value == {"NUMBER-OF-ACCTS": 1, "ACCT": ["A1"], "TAIL": "Z"}
    assert records[1].value == {"NUMBER-OF-ACCTS": 3, "ACCT": ["A1", "B2", "C3"], "TAIL": "Z"}
    assert records[2].error is not None and "outside OCCURS 1 TO 80" in records[2].error.reason
    assert records[3].error is not None and "81" in records[3].error.reason


def test_odo_counts_below_the_minimum_are_accepted_when_asked() -> None:
    codec = make(ODO_NO_MIN, encoding="ascii", record_format="lines", odo_below_minimum="accept")
    [empty, over] = list(codec.read(io.BytesIO(b"00Z\n81\n"), name="f"))
    assert empty.value == {"NUMBER-OF-ACCTS": 0, "ACCT": [], "TAIL": "Z"}
    assert over.error is not None and "outside OCCURS 0 TO 80" in over.error.reason  # the maximum still holds
    assert codec.encode({"NUMBER-OF-ACCTS": 0, "ACCT": [], "TAIL": "Z"}) == b"00Z"


@pytest.mark.parametrize("ending", ["\x1a", "\r\n\x1a", "\x1a\x1a\r\n", "\x1a garbage after the end"])
def test_a_dos_end_of_file_byte_ends_the_copybook(ending: str) -> None:
    text = "       01  R.\r\n           05  A  PIC X(2).\r\n" + ending
    codec = make(text, encoding="ascii")
    assert codec.record.size == 2 and codec.decode(b"ok") == {"A": "ok"}


def test_sign_leading_separate_without_s_reads_and_writes_the_sign() -> None:
    codec = make("       01  R.\n           05  AMT  PIC 99V99 SIGN LEADING SEPARATE.\n")
    assert codec.record.size == 5
    raw = bytes.fromhex("60F3F0F5F0")  # '-' then 3050, in cp037
    assert codec.decode(raw) == {"AMT": Decimal("-30.50")}
    assert codec.encode({"AMT": Decimal("-30.50")}) == raw
    assert codec.encode({"AMT": 12}) == bytes.fromhex("4EF1F2F0F0")  # '+' 1200
    trailing = make("       01  R.\n           05  N  PIC 999 SIGN TRAILING SEPARATE CHARACTER.\n", encoding="ascii")
    assert trailing.decode(b"042-") == {"N": -42}


def test_a_group_sign_clause_leaves_unsigned_items_alone() -> None:
    text = "       01  R SIGN LEADING SEPARATE.\n           05  U  PIC 99.\n           05  S  PIC S99.\n"
    codec = make(text, encoding="ascii")
    assert [c.size for c in codec.record.children] == [2, 3]
    assert codec.decode(b"07-12") == {"U": 7, "S": -12}


def test_small_decimals_are_plain_strings_in_json() -> None:
    tiny = make("       01  R.\n           05  T  PIC V9(7).\n           05  Z  PIC 9(8)V9(10).\n", encoding="ascii")
    value = tiny.decode(b"0000001" + b"0" * 18)
    assert value == {"T": Decimal("0.0000001"), "Z": Decimal(0)}
    assert jsonable(value) == {"T": "0.0000001", "Z": "0.0000000000"}
    out = io.BytesIO()
    JsonLinesCodec(JsonLinesFormat()).writer(out).write(value)
    assert json.loads(out.getvalue()) == {"T": "0.0000001", "Z": "0.0000000000"}


def test_inspect_file_prints_plain_decimals(tmp_path: Path) -> None:
    (tmp_path / "r.cpy").write_text("       01  R.\n           05  T  PIC SV9(7) COMP-3.\n")
    (tmp_path / "r.dat").write_bytes(bytes.fromhex("0000001D"))
    records, _ = inspect_file(tmp_path / "r.dat", {"copybook": "r.cpy"}, base_dir=tmp_path)
    assert records == [{"T": "-0.0000001"}]


@cache
def packed(scale: int) -> CopybookCodec:
    integer = f"9({20 - scale})" if scale < 20 else ""
    return make(
        f"       01  R.\n           05  N  PIC S{integer}V9({scale}) COMP-3.\n"
        if scale
        else "       01  R.\n           05  N  PIC S9(20) COMP-3.\n"
    )


@settings(max_examples=300, deadline=None)
@given(st.integers(-(10**20) + 1, 10**20 - 1), st.integers(0, 18))
def test_decimal_strings_never_use_exponent_form(unscaled: int, scale: int) -> None:
    raw = bytes.fromhex(str(abs(unscaled)).zfill(21) + ("d" if unscaled < 0 else "c"))
    value = packed(scale).decode(raw)["N"]
    assert value == Decimal(unscaled).scaleb(-scale, Context(prec=100))
    text = str(jsonable(value))  # scale 0 reads as an int
    assert "E" not in text.upper()
    assert Decimal(text) == value
    assert (Decimal(text).as_tuple().exponent == -scale) if scale else isinstance(value, int)
    if scale:
        assert len(text.split(".")[1]) == scale


def test_a_plus_edited_picture_keeps_its_decimal_point() -> None:
    codec = make("       01  R.\n           05  AMT  PIC +9(6)V99.\n", encoding="ascii")
    assert codec.record.size == 9
    assert codec.decode(b"-30503932") == {"AMT": Decimal("-305039.32")}
    assert codec.decode(b"+00000001") == {"AMT": Decimal("0.01")}
    assert codec.encode({"AMT": Decimal("-305039.32")}) == b"-30503932"


def test_an_explicit_point_with_an_overpunched_sign() -> None:
    ascii_ = make("       01  R.\n           05  AMT  PIC S9(3).99.\n", encoding="ascii")
    assert ascii_.record.size == 6
    assert ascii_.decode(b"305.0L") == {"AMT": Decimal("-305.03")}  # L: -3 overpunched
    assert ascii_.decode(b"305.0C") == {"AMT": Decimal("305.03")}
    assert ascii_.encode({"AMT": Decimal("-305.03")}) == b"305.0L"
    ebcdic = make("       01  R.\n           05  AMT  PIC S9(3).99.\n", encoding="cp037")
    raw = bytes.fromhex("F3F0F54BF0D3")  # 305.0 then D3: 3, negative
    assert ebcdic.decode(raw) == {"AMT": Decimal("-305.03")}
    assert ebcdic.encode({"AMT": Decimal("-305.03")}) == raw
    [bad] = list(ebcdic.read(io.BytesIO(bytes.fromhex("F3F0F5F0F0D3")), name="f"))
    assert bad.error is not None and "decimal point" in bad.error.reason
