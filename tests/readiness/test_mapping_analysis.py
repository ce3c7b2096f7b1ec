"""The conservative JSONata path reader and the schema sample behind the mapping findings."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from interlace.readiness.jsonata_paths import unknown_fields
from interlace.readiness.schemas import sample

from support import QUICKSTART

ORDER = json.loads((QUICKSTART / "order.schema.json").read_text())


@pytest.mark.parametrize(
    ("expression", "unknown"),
    [
        ('{"no": id, "email": $lowercase(customer.email)}', []),
        ('{"no": id, "email": $lowercase(custmer.email)}', ["custmer"]),
        ("customer.emial", ["customer.emial"]),
        ("$sum(lines.(qty * prise))", ["lines.prise"]),
        ("lines[qty > 1].skux", ["lines.skux"]),
        ("lines[qtty > 1].sku", ["lines.qtty"]),
        ('lines.{"order": %.id, "sku": sku, "c": nope}', ["lines.nope"]),
        ('id & " " & "customer.nothing"', []),
        ("$$.id and $.lines[0].sku", []),
        ("$x.whatever", []),
        ("$map(lines, function($l) { $l.anything })", []),
        ("`id`", []),
        ('total > 10 ? "big" : "small"', ["total"]),
        ('{"k": id}.k', []),
        ("*.anything", []),
    ],
)
def test_paths_read_from_the_schema(expression: str, unknown: list[str]) -> None:
    assert unknown_fields(expression, ORDER) == unknown


def test_a_schema_without_properties_judges_nothing() -> None:
    assert unknown_fields("anything.at.all", {"type": "object"}) == []
    assert unknown_fields("anything", {"type": "object", "properties": {"a": {}}, "additionalProperties": {}}) == []


def test_the_sample_matches_its_schema_and_fills_optional_fields() -> None:
    record = sample(ORDER)
    assert list(Draft202012Validator(ORDER).iter_errors(record)) == []
    assert record["customer"]["name"] == "sample"
    assert len(record["lines"]) == 1
