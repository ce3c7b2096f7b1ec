"""Every supported transaction set, from our own samples: read into nested JSON, written back to
the same segments, and through a freshly generated envelope back to the same documents."""

from __future__ import annotations

import pytest

from formats.x12.x12_support import SAMPLES, acks, documents, read, segments, write

SETS = ["850", "855", "856", "810", "997"]


@pytest.mark.parametrize("name", SETS)
def test_each_sample_reads_clean_and_writes_back_the_same_segments(name: str) -> None:
    data = (SAMPLES / f"{name}.x12").read_bytes()
    records = read(data)
    docs = documents(records)
    assert docs and all(d["set"] == name and d["problems"] == [] for d in docs)
    assert segments(write(docs)) == segments(data)


@pytest.mark.parametrize("name", SETS)
def test_parse_generate_parse_gives_the_same_documents(name: str) -> None:
    first = documents(read((SAMPLES / f"{name}.x12").read_bytes()))
    fresh = [{"partner": "globex", "set": d["set"], "document": d["document"]} for d in first]
    generated = write(fresh, us={"id": "ACMEDIST"})
    again = documents(read(generated))
    assert [d["document"] for d in again] == [d["document"] for d in first]
    assert {d["partner"] for d in again} == {"acme"}  # we are the sender now
    assert all(d["control"] == f"{i + 1:04d}" for i, d in enumerate(again))


def test_850_loops_are_nested() -> None:
    doc = documents(read((SAMPLES / "850.x12").read_bytes()))[0]["document"]
    assert doc["BEG"]["BEG03"] == "PO-1001"
    assert [n["N1"]["N101"] for n in doc["N1_loop"]] == ["ST", "BT"]
    assert doc["N1_loop"][0]["N4"] == {"N401": "Springfield", "N402": "IL", "N403": "62701", "N404": "US"}
    lines = doc["PO1_loop"]
    assert [(line["PO1"]["PO107"], line["PO1"]["PO102"]) for line in lines] == [("WIDGET-A", "10"), ("GADGET-B", "3")]
    assert lines[0]["PID_loop"][0]["PID"]["PID05"] == "Blue widget, large"
    assert doc["CTT_loop"]["CTT"]["CTT01"] == "2"


def test_856_hl_levels_nest_shipment_order_pack_item() -> None:
    doc = documents(read((SAMPLES / "856.x12").read_bytes()))[0]["document"]
    (shipment,) = doc["HL_loop"]
    assert shipment["HL"]["HL03"] == "S"
    (order,) = shipment["HL_loop"]
    assert order["PRF"]["PRF01"] == "PO-1001"
    packs = order["HL_loop"]
    assert [p["MAN"][0]["MAN02"][-2:] for p in packs] == ["18", "25"]
    items = [p["HL_loop"][0] for p in packs]
    assert [(i["HL"]["HL03"], i["LIN"]["LIN03"], i["SN1"]["SN102"]) for i in items] == [
        ("I", "WIDGET-A", "10"),
        ("I", "GADGET-B", "3"),
    ]


def test_a_997_read_says_what_it_acknowledges() -> None:
    (doc,) = documents(read((SAMPLES / "997.x12").read_bytes()))
    assert doc["acknowledges"] == {"code": "SH", "group": "301", "status": "A"}
    assert acks(read((SAMPLES / "997.x12").read_bytes())) == []  # a 997 is not acknowledged


def test_multi_interchange_file_with_bom_crlf_and_other_delimiters() -> None:
    data = (SAMPLES / "multi.x12").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data and b"\x1c" in data
    records = read(data)
    docs = documents(records)
    assert [(d["interchange"]["control"], d["control"]) for d in docs] == [
        ("000000101", "0001"),
        ("000000101", "0002"),
        ("000000102", "0001"),
    ]
    second = docs[2]
    assert second["interchange"]["delimiters"] == {
        "element": "|",
        "component": ":",
        "segment": "\x1c",
        "repetition": "!",
    }
    assert second["document"]["REF"] == [{"REF01": "ZZ", "REF02": [["A"], ["B"]]}]  # a repeated element
    assert [a["acknowledges"]["interchange"] for a in acks(records)] == ["000000101", "000000102"]
    written = write(docs)
    first_end = written.index(b"IEA*1*000000101~") + len(b"IEA*1*000000101~\n")
    assert segments(written[:first_end]) == segments(data[: data.index(b"IEA*1*000000101~") + 16])
    assert segments(written[first_end:], b"\x1c") == segments(data[data.index(b"ISA|") :], b"\x1c")


@pytest.mark.parametrize(
    ("terminator", "element", "component", "newline"),
    [("\n", "*", ">", ""), ("'", "+", ":", "\r\n"), ("\x85", "\x1d", "\x1f", ""), ("!", "^", "@", "\n")],
)
def test_any_delimiters_the_isa_declares(terminator: str, element: str, component: str, newline: str) -> None:
    text = (SAMPLES / "850.x12").read_text()
    text = text.replace("*", "\0").replace(">~", "\1~").replace("~\n", "\2")
    text = text.replace("\0", element).replace("\1", component).replace("\2", terminator + newline)
    data = text.encode("latin-1")
    docs = documents(read(data, encoding="latin-1"))
    assert len(docs) == 2 and docs[0]["interchange"]["delimiters"]["segment"] == terminator
    assert docs[0]["document"] == documents(read((SAMPLES / "850.x12").read_bytes()))[0]["document"]
    assert segments(write(docs, encoding="latin-1"), terminator.encode("latin-1")) == segments(
        data, terminator.encode("latin-1")
    )
