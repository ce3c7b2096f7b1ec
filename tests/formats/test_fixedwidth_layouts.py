from __future__ import annotations

import io
from decimal import Decimal

import pytest
from pydantic import ValidationError

from interlace.formats.fixedwidth import FixedWidthCodec, FixedWidthFormat


def codec(**config: object) -> FixedWidthCodec:
    fields = [
        {"name": "n", "length": 4, "type": "int"},
        {"name": "d", "length": 6, "type": "decimal", "decimals": 3},
        {"name": "s", "start": 12, "width": 3},
    ]
    return FixedWidthCodec(FixedWidthFormat.model_validate({"fields": fields, **config}))


def test_signs_blanks_points_and_short_lines_use_the_careful_path() -> None:
    data = b"  12-1.5   abc\n  7-0012+  x\n    \n"
    values = list(codec().values(io.BytesIO(data)))
    assert values == [
        {"n": 12, "d": Decimal("-1.5"), "s": "abc"},
        {"n": -7, "d": Decimal("0.012"), "s": "x"},
        {"n": None, "d": None, "s": ""},
    ]


def test_back_to_back_records_in_ebcdic_with_gap_bytes() -> None:
    c = codec(encoding="cp037", newline="")
    out = io.BytesIO()
    c.writer(out).write({"n": -5, "d": Decimal("1.25"), "s": "ÄB"})
    assert out.getvalue() == "-005001250 ÄB ".encode("cp037")
    assert list(c.values(io.BytesIO(out.getvalue() * 2))) == [{"n": -5, "d": Decimal("1.250"), "s": "ÄB"}] * 2
    [record] = list(c.read(io.BytesIO(out.getvalue()[:9]), name="f"))
    assert record.error is not None and "9 bytes" in str(record.error)


def test_layout_mistakes_are_config_errors() -> None:
    with pytest.raises(ValidationError, match="exactly one of length or width"):
        FixedWidthFormat.model_validate({"fields": [{"name": "a"}]})
    with pytest.raises(ValidationError, match="decimals needs type decimal"):
        FixedWidthFormat.model_validate({"fields": [{"name": "a", "length": 2, "decimals": 1}]})
    with pytest.raises(ValueError, match="shorter than the layout"):
        codec(record_length=5)
