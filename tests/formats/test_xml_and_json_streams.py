"""XML safety and shape, and JSON arrays read across buffer boundaries."""

from __future__ import annotations

import io

import pytest
from pydantic import ValidationError

import interlace.formats.jsonl as jsonl
from interlace.formats.jsonl import JsonCodec
from interlace.formats.xml import XmlCodec, XmlFormat

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<orders><order>&lol2;</order></orders>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<orders><order>&secret;</order></orders>"""


@pytest.mark.parametrize("document", [BOMB, EXTERNAL], ids=["entity-expansion", "external-entity"])
def test_entities_are_never_expanded(document: bytes) -> None:
    records = list(XmlCodec(XmlFormat(record_path="orders/order")).read(io.BytesIO(document), name="evil.xml"))
    assert len(records) == 1 and records[0].error is not None
    assert "refused XML" in str(records[0].error) and "evil.xml" in str(records[0].error)


def test_namespaces_wildcards_and_nesting() -> None:
    document = b"""<?xml version="1.0" encoding="ISO-8859-1"?>
<b2b:batch xmlns:b2b="urn:x"><b2b:header><id>7</id></b2b:header>
  <b2b:body><b2b:invoice no="1">caf\xe9<line qty="2"/></b2b:invoice></b2b:body>
  <b2b:other><b2b:invoice no="2"/></b2b:other>
</b2b:batch>"""
    codec = XmlCodec(XmlFormat(record_path="/batch/*/invoice/"))
    values = list(codec.values(io.BytesIO(document)))
    assert values == [{"@no": "1", "line": {"@qty": "2"}, "#text": "café"}, {"@no": "2"}]
    with pytest.raises(ValueError, match="'\\*'"):
        codec.writer(io.BytesIO())
    with pytest.raises(ValidationError):
        XmlFormat(record_path="//")


def test_many_records_do_not_accumulate() -> None:
    document = b"<r>" + b"".join(b"<x><n>%d</n></x>" % n for n in range(20000)) + b"</r>"
    codec = XmlCodec(XmlFormat(record_path="r/x"))
    count = 0
    for record in codec.read(io.BytesIO(document)):
        assert record.value == {"n": str(count)}
        count += 1
    assert count == 20000


def test_json_array_elements_split_across_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonl, "_CHUNK", 3)  # every element, number and UTF-8 character crosses a boundary
    records = [{"name": "Zoë 北京", "n": 12345.678, "list": [1, 2, {"x": None}]}, {"n": -1}, {}]
    out = io.BytesIO()
    with JsonCodec().writer(out) as writer:
        for record in records:
            writer.write(record)
    read = list(JsonCodec().read(io.BytesIO(out.getvalue())))
    assert [r.value for r in read] == records
    assert [out.getvalue()[r.offset : r.offset + len(r.raw or b"")] for r in read] == [r.raw for r in read]
    cut = list(JsonCodec().read(io.BytesIO(out.getvalue()[:-3]), name="cut.json"))
    assert cut[-1].error is not None and "not closed" in str(cut[-1].error)
