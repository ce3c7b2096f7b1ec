"""One contract for every codec: read -> write -> read gives the same records, a bad record is
reported with its file, number and offset, and reading goes on past it where framing allows."""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from interlace.formats import Codec, codec_for, parse_format
from interlace.types import JSONObject

COPYBOOKS = Path(__file__).parent / "copybooks"

PEOPLE = [
    {"id": "1", "name": "Ann O'Neil", "city": "Zürich"},
    {"id": "2", "name": 'Bob, "the builder"', "city": "line\nbreak"},
    {"id": "3", "name": "", "city": "Oslo"},
]


@dataclass
class Case:
    id: str
    format: object
    records: list[JSONObject]
    bad: bytes
    """A stream whose second record is bad."""
    bad_offset: int | None
    resumes: bool
    """Whether a third, good record after the bad one is still read."""


CASES = [
    Case("csv", "csv", PEOPLE, b"id,name,city\n1,a,b\n2,only-two\n3,c,d\n", 19, True),
    Case(
        "csv-semicolon-all-quoted",
        {"type": "csv", "delimiter": ";", "quoting": "all", "header": False, "columns": ["id", "name", "city"]},
        PEOPLE,
        b'"1";"a";"b"\n"2"\n"3";"c";"d"\n',
        12,
        True,
    ),
    Case(
        "jsonl",
        "jsonl",
        [{"a": 1, "b": [1.5, None, True], "c": {"d": "é"}}, {"a": 2}],
        b'{"a": 1}\n{"a": \n{"a": 3}\n',
        16,  # the byte where record 2 breaks off (its line starts at 9)
        True,
    ),
    Case(
        "json",
        {"type": "json", "indent": 2},
        [{"a": 1, "b": [1.5, None, True]}, {"a": "x"}],
        b'[{"a": 1}, {"a": tru}, {"a": 3}]',
        11,
        False,
    ),
    Case(
        "xml",
        {"type": "xml", "record_path": "orders/order"},
        [{"@id": "1", "sku": ["A", "B"], "note": "a < b & c"}, {"@id": "2", "sku": "C", "ship": {"city": "Köln"}}],
        b"<orders><order>1</order><order>2</orde></orders>",
        None,
        False,
    ),
    Case(
        "fixedwidth",
        {
            "type": "fixedwidth",
            "fields": [
                {"name": "id", "length": 4, "type": "int"},
                {"name": "name", "length": 10},
                {"name": "amount", "start": 15, "length": 9, "type": "decimal", "decimals": 2},
            ],
        },
        [
            {"id": 1, "name": "Ann", "amount": Decimal("12.50")},
            {"id": -2, "name": "Bö", "amount": Decimal("-0.01")},
            {"id": None, "name": "", "amount": None},
        ],
        b"0001Ann       000001250\n0002Bob       00000x250\n0003Cy        000000001\n",
        24 + 14,
        True,
    ),
    Case(
        "copybook-ebcdic-fixed",
        {"copybook": str(COPYBOOKS / "account.cpy"), "encoding": "cp037"},
        [
            {"ACCT-NO": 1, "HOLDER": "ANN", "BALANCE": Decimal("-10.25"), "OPENED": 20240131},
            {"ACCT-NO": 999999, "HOLDER": "ÄÖÜß", "BALANCE": Decimal("0.00"), "OPENED": 0},
        ],
        bytes.fromhex("f0f0f0f0f0f1" + "c1d5d540404040404040" + "00000001025d" + "f2f0f2f4f0f1f3f1")
        + bytes.fromhex("f0f0f0f0f0f2" + "c2d6c240404040404040" + "000000010254" + "f2f0f2f4f0f1f3f1")
        + bytes.fromhex("f0f0f0f0f0f3" + "c3e84040404040404040" + "00000000001f" + "f2f0f2f4f0f1f3f1"),
        30 + 16,
        True,
    ),
    Case(
        "copybook-ascii-rdw",
        {"copybook": str(COPYBOOKS / "account.cpy"), "encoding": "ascii", "record_format": "rdw"},
        [{"ACCT-NO": 7, "HOLDER": "BOB", "BALANCE": Decimal("123.45"), "OPENED": 19991231}],
        b"\x00\x22\x00\x00000001ANN       "
        + bytes.fromhex("00000001025d")
        + b"20240131"
        + b"\x00\x22\x00\x00000002BOB       "
        + bytes.fromhex("00000001025d")
        + b"2024013X"
        + b"\x00\x22\x00\x00000003CY        "
        + bytes.fromhex("00000001025d")
        + b"20240131",
        34 + 4 + 22,
        True,
    ),
]


def _codec(case: Case) -> Codec:
    return codec_for(parse_format(case.format))


def _write(codec: Codec, records: list[JSONObject]) -> bytes:
    out = io.BytesIO()
    with codec.writer(out) as writer:
        for record in records:
            writer.write(record)
    return out.getvalue()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_round_trip(case: Case) -> None:
    codec = _codec(case)
    first = _write(codec, case.records)
    read = list(codec.values(io.BytesIO(first), name="first"))
    assert read == case.records
    second = _write(codec, read)
    assert list(codec.values(io.BytesIO(second), name="second")) == case.records
    assert second == first


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_record_is_located(case: Case) -> None:
    records = list(_codec(case).read(io.BytesIO(case.bad), name="drop/in.dat"))
    assert records[0].error is None and records[0].value is not None
    bad = records[1]
    assert bad.error is not None and bad.value is None
    assert bad.error.file == "drop/in.dat"
    assert bad.error.record == 2
    assert bad.error.offset == case.bad_offset
    assert "drop/in.dat" in str(bad.error) and "record 2" in str(bad.error)
    if case.resumes:
        assert len(records) == 3 and records[2].error is None and records[2].number == 3
    else:
        assert len(records) == 2


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_empty_stream_has_no_records(case: Case) -> None:
    codec = _codec(case)
    empty = _write(codec, [])
    assert list(codec.read(io.BytesIO(empty))) == []


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_offsets_point_at_raw_bytes(case: Case) -> None:
    codec = _codec(case)
    data = _write(codec, case.records)
    for record in codec.read(io.BytesIO(data)):
        if record.offset is not None and record.raw is not None:
            assert data[record.offset : record.offset + len(record.raw)] == record.raw
