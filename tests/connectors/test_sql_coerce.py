"""JSON values into column values, and database values back into JSON."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import pytest

from interlace.connectors.sql.coerce import ValueNotStorable, coercer
from interlace.connectors.sql.identifiers import BadIdentifier, check_table, quote
from interlace.connectors.sql.schema import Column, Family, Table, column_warnings
from interlace.connectors.sql.values import decode_cursor, encode_cursor, to_json


def coerce(family: Family, value: Any, nullable: bool = True) -> Any:
    return coercer(Column("c", family, family, nullable))(value)


@pytest.mark.parametrize(
    ("family", "value", "stored"),
    [
        ("int", "42", 42), ("int", 7.0, 7), ("int", " 1e3 ", 1000),
        ("float", "2.5", 2.5), ("float", 3, 3.0),
        ("decimal", "10.50", Decimal("10.50")), ("decimal", 0.1, Decimal("0.1")), ("decimal", 5, Decimal(5)),
        ("bool", "yes", True), ("bool", "F", False), ("bool", 1, True),
        ("date", "2024-02-29", date(2024, 2, 29)), ("date", "2024-02-29T23:00:00", date(2024, 2, 29)),
        ("datetime", "2024-01-01T10:00:00Z", datetime(2024, 1, 1, 10)),
        ("datetime", "2024-01-01T12:00:00+02:00", datetime(2024, 1, 1, 10)),
        ("datetime_tz", "2024-01-01 10:00:00", datetime(2024, 1, 1, 10, tzinfo=UTC)),
        ("datetime_tz", 0, datetime(1970, 1, 1, tzinfo=UTC)),
        ("time", "08:30", time(8, 30)),
        ("json", {"a": [1, None]}, '{"a":[1,null]}'), ("json", "text", '"text"'),
        ("text", 12, "12"), ("text", True, "true"), ("text", {"a": 1}, '{"a":1}'),
        ("bytes", "aGk=", b"hi"),
        ("uuid", "12345678123456781234567812345678", "12345678-1234-5678-1234-567812345678"),
    ],
)  # fmt: skip
def test_values_are_coerced(family: Family, value: Any, stored: Any) -> None:
    assert coerce(family, value) == stored


@pytest.mark.parametrize(
    ("family", "value", "reason"),
    [
        ("int", "three", "not an integer"), ("int", 1.5, "fractional"), ("int", True, "boolean"),
        ("decimal", "1,5", "not a decimal"), ("decimal", "NaN", "finite"),
        ("bool", "maybe", "not a boolean"), ("date", "31/12/2024", "ISO 8601"),
        ("datetime", "yesterday", "ISO 8601"), ("bytes", "not base64!", "base64"), ("uuid", "x", "UUID"),
        ("json", float("nan"), "JSON"), ("text", ["a"], ""),
    ],
)  # fmt: skip
def test_bad_values_name_the_column(family: Family, value: Any, reason: str) -> None:
    if family == "text":  # a list into a text column is stored as JSON text
        assert coerce(family, value) == '["a"]'
        return
    with pytest.raises(ValueNotStorable) as caught:
        coerce(family, value)
    assert caught.value.column == "c" and not caught.value.retryable
    assert reason.lower() in str(caught.value).lower()


def test_null_into_not_null_column() -> None:
    assert coerce("int", None) is None
    with pytest.raises(ValueNotStorable, match="NOT NULL"):
        coerce("int", None, nullable=False)


def test_error_names_the_row_key() -> None:
    with pytest.raises(ValueNotStorable) as caught:
        coerce("int", "x")
    error = caught.value.for_key("A7")
    assert str(error) == "row key 'A7': column 'c' (int) cannot store 'x': not an integer"


def test_database_values_become_json() -> None:
    row = [datetime(2024, 1, 1, 10), date(2024, 1, 1), Decimal("10.50"), Decimal("12345678901234567890.12"),
           b"hi", uuid.UUID(int=1), {"a": Decimal("1.5")}]  # fmt: skip
    assert [to_json(v) for v in row] == [
        "2024-01-01T10:00:00", "2024-01-01", 10.5, "12345678901234567890.12", "aGk=",
        "00000000-0000-0000-0000-000000000001", {"a": 1.5},
    ]  # fmt: skip


def test_a_decimal_no_float_holds_is_written_out_in_full() -> None:
    # str() of this Decimal is '1.2345678901234567890E-8': a reader would take it for a float
    assert to_json(Decimal("0.000000012345678901234567890")) == "0.000000012345678901234567890"
    assert to_json(Decimal("-123456789012345678901234567890")) == "-123456789012345678901234567890"


def test_cursor_values_survive_the_store() -> None:
    values = [datetime(2024, 1, 1, 10, tzinfo=UTC), date(2024, 1, 1), Decimal("1.10"), 5, "k", uuid.UUID(int=3)]
    encoded = encode_cursor(values)
    assert decode_cursor(encoded) == values
    assert [type(v) for v in decode_cursor(encoded)] == [type(v) for v in values]


@pytest.mark.parametrize("name", ["orders", "sales.orders", "_t1"])
def test_good_identifiers(name: str) -> None:
    assert check_table(name) == name


@pytest.mark.parametrize("name", ["1abc", "a-b", 'x"; DROP TABLE y', "a.b.c", "", "a b", "é"])
def test_bad_identifiers(name: str) -> None:
    with pytest.raises(BadIdentifier):
        check_table(name)
    with pytest.raises(BadIdentifier):
        quote(name, '"')


def test_column_warnings_for_validate() -> None:
    table = Table("orders", [Column("id", "int", "int", False, True), Column("no", "text", "text", False),
                             Column("note", "text", "text")])  # fmt: skip
    assert column_warnings(table, ["id", "colour"]) == [
        "table 'orders' has no column 'colour'",
        "column 'no' of 'orders' is NOT NULL without a default, and the mapping omits it",
    ]
