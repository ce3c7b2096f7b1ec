from __future__ import annotations

import json
import shutil
from pathlib import Path

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
