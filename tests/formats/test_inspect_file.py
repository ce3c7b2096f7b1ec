from __future__ import annotations

import json
import shutil
from pathlib import Path

from interlace.formats.copybook import CopybookCodec, CopybookFormat
from interlace.formats.inspect import inspect_file

COPYBOOKS = Path(__file__).parent / "copybooks"


def test_copybook_records_as_json_with_offset_table(tmp_path: Path) -> None:
    shutil.copy(COPYBOOKS / "account.cpy", tmp_path / "account.cpy")
    good = bytes.fromhex("f0f0f0f0f0f1" + "c1d5d540404040404040" + "00000001025d" + "f2f0f2f4f0f1f3f1")
    bad = good[:16] + bytes.fromhex("0000000102ff") + good[22:]
    (tmp_path / "acct.dat").write_bytes(good * 2 + bad + good)
    fmt = {"copybook": "account.cpy", "encoding": "cp037"}
    records, table = inspect_file(tmp_path / "acct.dat", fmt, limit=3, base_dir=tmp_path)
    assert records[:2] == [{"ACCT-NO": 1, "HOLDER": "ANN", "BALANCE": "-10.25", "OPENED": 20240131}] * 2
    assert records[2] == {
        "$error": {"record": 3, "offset": 60 + 16, "field": "BALANCE", "message": records[2]["$error"]["message"]}
    }
    assert "non-digit nibble" in records[2]["$error"]["message"]
    assert len(records) == 3
    json.dumps(records)
    assert table is not None
    assert [(r["field"].strip(), r["start"], r["end"], r["length"]) for r in table] == [
        ("ACCOUNT", 1, 30, 30),
        ("ACCT-NO", 1, 6, 6),
        ("HOLDER", 7, 16, 10),
        ("BALANCE", 17, 22, 6),
        ("OPENED", 23, 30, 8),
    ]


def test_other_formats_have_no_table_except_fixed_width(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("a,b\n1,2\n3,4\n")
    assert inspect_file(tmp_path / "a.csv", "csv", limit=1) == ([{"a": "1", "b": "2"}], None)
    (tmp_path / "a.txt").write_text("0012ab\n")
    records, table = inspect_file(
        tmp_path / "a.txt",
        {"fields": [{"name": "n", "length": 4, "type": "decimal", "decimals": 1}, {"name": "s", "length": 2}]},
    )
    assert records == [{"n": "1.2", "s": "ab"}]
    assert table == [
        {"field": "n", "start": 1, "end": 4, "length": 4, "type": "decimal"},
        {"field": "s", "start": 5, "end": 6, "length": 2, "type": "str"},
    ]


COBRIX_LAYOUT = """-------- FIELD LEVEL/NAME --------- --ATTRIBS--    FLD  START     END  LENGTH

1 ROOT_GROUP                                          1      1      7      7
  5 FLD                                []             2      1      7      7
    10 B1                                             3      1      1      1"""
"""Cobrix's own expected layout of this copybook (its ParseCopybooksFeauresSpec), names with `_`."""


def test_the_layout_is_printed_as_cobrix_prints_it() -> None:
    from interlace.formats.copybook.layout import layout_text

    text = "      01  ROOT-GROUP.\n          05  FLD   OCCURS 7 TIMES\n                    INDEXED BY A1,\n"
    text += "                               A2.\n              10  B1  PIC X(1).\n"
    codec = CopybookCodec(CopybookFormat(copybook_text=text))
    printed = [line[:76].rstrip().replace("-", "_") for line in layout_text(codec.offset_table()).splitlines()]
    assert printed[2:] == COBRIX_LAYOUT.splitlines()[2:]
    assert layout_text(codec.offset_table()).splitlines()[0] == COBRIX_LAYOUT.splitlines()[0]


def test_the_cli_prints_redefines_sized_as_the_largest(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from interlace.cli.main import app

    (tmp_path / "r.cpy").write_text(
        "       01  R.\n"
        "           05  KIND      PIC X.\n"
        "           05  BODY      PIC X(2).\n"
        "           05  NUM       REDEFINES BODY PIC 9(4).\n"
        "           05  TABLE     OCCURS 3 TIMES.\n"
        "               10  CODE  PIC X(2).\n"
    )
    (tmp_path / "r.dat").write_bytes(bytes.fromhex("C1F0F0F1F2C1C1C2C2C3C3"))
    result = CliRunner().invoke(
        app, ["inspect-file", str(tmp_path / "r.dat"), "--format", f"copybook: {tmp_path / 'r.cpy'}"]
    )
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.output.splitlines()[2:8]]
    assert rows == [
        ["1", "R", "1", "1", "11", "11"],
        ["5", "KIND", "2", "1", "1", "1", "X", "display"],
        ["5", "BODY", "r", "3", "2", "5", "4", "X(2)", "display"],  # the largest of BODY and NUM
        ["5", "NUM", "R", "4", "2", "5", "4", "9(4)", "display", "REDEFINES", "BODY"],
        ["5", "TABLE", "[]", "5", "6", "11", "6"],  # the whole table
        ["10", "CODE", "6", "6", "7", "2", "X(2)", "display"],
    ]
    last = json.loads(result.output.splitlines()[-1])
    assert last == {"KIND": "A", "BODY": "00", "TABLE": [{"CODE": "AA"}, {"CODE": "BB"}, {"CODE": "CC"}]}
