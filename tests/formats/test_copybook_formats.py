"""Record formats: fixed, RDW (both byte orders, with or without its own length), RDW in BDW
blocks, lines, ODO-sized records, a record-length field, and record types picked by a segment id.
The bytes are the ones docs/files.md shows; the first ones were written out by hand."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest

from interlace.formats.base import jsonable
from interlace.formats.copybook import CopybookCodec, CopybookFormat
from interlace.formats.copybook.parser import CopybookError

ORDERS = """
       01  ORDER-REC.
           05  ORDER-NO     PIC X(4).
           05  LINE-COUNT   PIC 9.
           05  LINES        OCCURS 0 TO 3 DEPENDING ON LINE-COUNT.
               10  QTY      PIC S9(3) COMP-3.
"""
A1 = {"ORDER-NO": "A1", "LINE-COUNT": 2, "LINES": [{"QTY": 5}, {"QTY": -12}]}
B2 = {"ORDER-NO": "B2", "LINE-COUNT": 0, "LINES": []}
A1_BYTES = "C1 F1 40 40 F2 00 5C 01 2D"  # 'A1  ', '2', +005, -012
B2_BYTES = "C2 F2 40 40 F0"

FILES = {
    "fixed": f"{A1_BYTES} 40 40  {B2_BYTES} 40 40 40 40 40 40",
    "rdw": f"00 0D 00 00 {A1_BYTES}  00 09 00 00 {B2_BYTES}",
    "rdw_bdw": f"00 1A 00 00  00 0D 00 00 {A1_BYTES}  00 09 00 00 {B2_BYTES}",
    "odo": f"{A1_BYTES} {B2_BYTES}",
}


def make(text: str = ORDERS, **options: object) -> CopybookCodec:
    return CopybookCodec(CopybookFormat.model_validate({"copybook_text": text, **options}))


def written(codec: CopybookCodec, records: list[dict[str, Any]]) -> bytes:
    out = io.BytesIO()
    with codec.writer(out) as writer:
        for record in records:
            writer.write(record)
    return out.getvalue()


def values(codec: CopybookCodec, data: bytes) -> list[Any]:
    return [r.value if r.error is None else r.error.reason for r in codec.read(io.BytesIO(data), name="f")]


@pytest.mark.parametrize("record_format", sorted(FILES))
def test_each_record_format_reads_the_documented_bytes(record_format: str) -> None:
    codec = make(record_format=record_format)
    data = bytes.fromhex(FILES[record_format])
    assert values(codec, data) == [A1, B2]
    assert written(codec, [A1, B2]) == data


def test_offsets_are_those_of_each_record_in_the_file() -> None:
    offsets = {
        f: [r.offset for r in make(record_format=f).read(io.BytesIO(bytes.fromhex(d)))] for f, d in FILES.items()
    }
    assert offsets == {"fixed": [0, 11], "rdw": [0, 13], "rdw_bdw": [4, 17], "odo": [0, 9]}


def test_little_endian_rdw_and_rdw_without_its_own_length() -> None:
    little = make(record_format="rdw", rdw_byteorder="little")
    data = bytes.fromhex(f"00 00 0D 00 {A1_BYTES} 00 00 09 00 {B2_BYTES}")  # Cobrix's little-endian form
    assert values(little, data) == [A1, B2] and written(little, [A1, B2]) == data
    payload = make(record_format="rdw", rdw_includes_header=False)
    data = bytes.fromhex(f"00 09 00 00 {A1_BYTES} 00 05 00 00 {B2_BYTES}")
    assert values(payload, data) == [A1, B2] and written(payload, [A1, B2]) == data
    adjusted = make(record_format="rdw", rdw_adjustment=-4)  # a writer that counted the RDW twice
    data = bytes.fromhex(f"00 11 00 00 {A1_BYTES} 00 0D 00 00 {B2_BYTES}")
    assert values(adjusted, data) == [A1, B2] and written(adjusted, [A1, B2]) == data


def test_bdw_blocks_hold_many_records_extended_bdw_and_little_endian() -> None:
    codec = make(record_format="rdw_bdw")
    many = written(codec, [A1] * 3000)  # more than one 32,760-byte block
    assert int.from_bytes(many[:2], "big") <= 32760 and len(many) > 32760
    assert values(codec, many) == [A1] * 3000
    extended = bytes.fromhex(f"80 00 00 1A 00 0D 00 00 {A1_BYTES} 00 09 00 00 {B2_BYTES}")
    assert values(codec, extended) == [A1, B2]
    little = make(record_format="rdw_bdw", bdw_byteorder="little", rdw_byteorder="little")
    data = bytes.fromhex(f"00 00 1A 00 00 00 0D 00 {A1_BYTES} 00 00 09 00 {B2_BYTES}")
    assert values(little, data) == [A1, B2] and written(little, [A1, B2]) == data


def test_broken_blocks_and_odo_records_stop_with_an_error() -> None:
    codec = make(record_format="rdw_bdw")
    records = list(codec.read(io.BytesIO(bytes.fromhex(f"00 30 00 00 00 0D 00 00 {A1_BYTES}")), name="f"))
    assert records[0].value == A1 and records[1].fatal and "ends inside a block" in records[1].error.reason  # type: ignore[union-attr]
    overrun = list(codec.read(io.BytesIO(bytes.fromhex(f"00 0C 00 00 00 0D 00 00 {A1_BYTES}")), name="f"))
    assert overrun[0].fatal and "invalid RDW" in overrun[0].error.reason  # type: ignore[union-attr]
    odo = list(make(record_format="odo").read(io.BytesIO(bytes.fromhex(f"{A1_BYTES} C2 F2 40 40 F9")), name="f"))
    assert odo[0].value == A1 and odo[1].fatal and "cannot tell the record's length" in odo[1].error.reason  # type: ignore[union-attr]


NESTED = """
       01  R.
           05  N        PIC 9.
           05  OUTER    OCCURS 0 TO 3 DEPENDING ON N.
               10  M    PIC 9.
               10  INNER OCCURS 0 TO 4 DEPENDING ON M PIC X.
           05  TAIL     PIC X.
"""


def test_nested_odo_records_without_rdw() -> None:
    codec = make(NESTED, encoding="ascii", record_format="odo")
    one = {"N": 2, "OUTER": [{"M": 1, "INNER": ["a"]}, {"M": 3, "INNER": ["b", "c", "d"]}], "TAIL": "!"}
    two = {"N": 0, "OUTER": [], "TAIL": "?"}
    data = written(codec, [one, two])
    assert data == b"21a3bcd!0?"
    assert values(codec, data) == [one, two]


def test_without_variable_size_occurs_the_table_keeps_its_maximum() -> None:
    codec = make(NESTED, encoding="ascii", variable_size_occurs=False)
    record = {"N": 1, "OUTER": [{"M": 1, "INNER": ["a"]}], "TAIL": "!"}
    data = codec.encode(record)
    assert len(data) == codec.record.size == 1 + 3 * 5 + 1 and data[-1:] == b"!"
    assert codec.decode(data) == record


def test_text_lines() -> None:
    codec = make(
        "       01  R.\n           05  NAME PIC X(4).\n           05  QTY PIC S9(3).\n",
        encoding="ascii",
        record_format="lines",
    )
    assert values(codec, b"ANN 01L\r\nBOB 007\n") == [{"NAME": "ANN", "QTY": -13}, {"NAME": "BOB", "QTY": 7}]
    assert written(codec, [{"NAME": "ANN", "QTY": -13}]) == b"ANN 01L\n"


LENGTH_FIELD = "       01  R.\n           05  REC-LEN PIC 9(2).\n           05  NAME PIC X(6).\n"


def test_a_record_length_field_gives_each_length() -> None:
    odo = "       01  R.\n           05  REC-LEN PIC 9(2).\n           05  N PIC 9.\n"
    odo += "           05  NAME OCCURS 0 TO 6 DEPENDING ON N PIC X.\n"
    codec = make(odo, encoding="ascii", record_length_field="REC-LEN")
    assert values(codec, b"063ANN" + b"096BERTHA") == [
        {"REC-LEN": 6, "N": 3, "NAME": list("ANN")},
        {"REC-LEN": 9, "N": 6, "NAME": list("BERTHA")},
    ]
    plain = make(LENGTH_FIELD, encoding="ascii", record_length_field="REC-LEN")
    records = list(plain.read(io.BytesIO(b"05ANN08BERTHA"), name="f"))
    assert [(r.offset, r.raw, r.value) for r in records] == [
        (0, b"05ANN", {"REC-LEN": 5, "NAME": "ANN"}),  # a text item the record's end cuts short
        (5, b"08BERTHA", {"REC-LEN": 8, "NAME": "BERTHA"}),
    ]
    adjusted = make(LENGTH_FIELD, encoding="ascii", record_length_field="REC-LEN", rdw_adjustment=2)
    assert [r.offset for r in adjusted.read(io.BytesIO(b"06ABCDEF06ABCDEF"), name="f")] == [0, 8]
    mapped = make(LENGTH_FIELD, encoding="ascii", record_length_field="REC-LEN", record_length_map={"1": 4, "2": 8})
    assert [r.raw for r in mapped.read(io.BytesIO(b"01AB02ABCDEF"), name="f")] == [b"01AB", b"02ABCDEF"]
    [bad] = list(mapped.read(io.BytesIO(b"03AB"), name="f"))
    assert bad.fatal and "not in record_length_map" in bad.error.reason  # type: ignore[union-attr]


def test_a_number_the_record_end_cuts_is_still_an_error() -> None:
    codec = make(
        "       01  R.\n           05  A PIC X(2).\n           05  N PIC 9(3).\n",
        encoding="ascii",
        record_format="lines",
    )
    [cut, missing] = list(codec.read(io.BytesIO(b"ab12\nab\n"), name="f"))
    assert cut.error is not None and cut.error.field == "N" and "ends at byte 4" in cut.error.reason
    assert missing.error is not None and missing.error.field == "N"


SEGMENTS = """
       01  CUST.
           05  SEG   PIC X.
           05  NAME  PIC X(4).
       01  ORD.
           05  SEG   PIC X.
           05  AMT   PIC 9(2)V9.
"""


def test_segment_ids_pick_the_record_layout() -> None:
    codec = make(SEGMENTS, encoding="ascii", segments={"field": "SEG", "records": {"C": "CUST", "O": "ORD"}})
    assert [jsonable(v) for v in values(codec, b"CAnneO123CBob O001")] == [
        {"SEG": "C", "NAME": "Anne"},
        {"SEG": "O", "AMT": "12.3"},
        {"SEG": "C", "NAME": "Bob"},
        {"SEG": "O", "AMT": "0.1"},
    ]
    assert written(codec, [{"SEG": "C", "NAME": "Zed"}, {"SEG": "O", "AMT": Decimal("1.5")}]) == b"CZed O015"
    [bad] = list(codec.read(io.BytesIO(b"XAnne"), name="f"))
    assert bad.fatal and "segment id 'X' names no record" in bad.error.reason  # type: ignore[union-attr]
    rdw = make(
        SEGMENTS,
        encoding="ascii",
        record_format="rdw",
        segments={"field": "SEG", "records": {"O": "ORD"}, "default": "CUST"},
    )
    data = written(rdw, [{"SEG": "C", "NAME": "Anne"}, {"SEG": "O", "AMT": 2}])
    assert data == b"\x00\x09\x00\x00CAnne\x00\x08\x00\x00O020"
    assert [jsonable(v) for v in values(rdw, data)] == [{"SEG": "C", "NAME": "Anne"}, {"SEG": "O", "AMT": "2.0"}]


def test_a_segment_field_after_a_variable_table_is_refused() -> None:
    text = "       01  R.\n           05  N PIC 9.\n"
    text += "           05  A OCCURS 0 TO 2 DEPENDING ON N PIC X.\n           05  SEG PIC X.\n"
    with pytest.raises(CopybookError, match="before any OCCURS DEPENDING ON"):
        make(text, segments={"field": "SEG", "records": {"A": "R"}})
