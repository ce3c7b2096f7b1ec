"""Every supported message, from our own samples: read into nested JSON with segment groups,
written back to the same segments, and through a freshly generated envelope back to the same
documents; UNA, release characters, decimal commas and syntax levels."""

from __future__ import annotations

import pytest

from formats.edifact.edifact_support import SAMPLES, acks, documents, read, segments, write

MESSAGES = ["orders", "desadv", "invoic", "contrl"]


@pytest.mark.parametrize("name", MESSAGES)
def test_each_sample_reads_clean_and_writes_back_the_same_segments(name: str) -> None:
    data = (SAMPLES / f"{name}.edi").read_bytes()
    docs = documents(read(data))
    assert docs and all(d["message"] == name.upper() and d["problems"] == [] for d in docs)
    assert segments(write(docs)) == segments(data)


@pytest.mark.parametrize("name", MESSAGES)
@pytest.mark.parametrize("decimal", [".", ","])
def test_parse_generate_parse_gives_the_same_documents(name: str, decimal: str) -> None:
    first = documents(read((SAMPLES / f"{name}.edi").read_bytes()))
    fresh = [{"partner": "globex", "message": d["message"], "document": d["document"]} for d in first]
    partners = {"globex": {"id": "4012345000009", "qualifier": "14", "delimiters": {"decimal": decimal}}}
    generated = write(fresh, us={"id": "5412345000013", "qualifier": "14"}, partners=partners)
    assert generated.startswith(f"UNA:+{decimal}? '".encode())
    again = documents(read(generated))
    assert [d["document"] for d in again] == [d["document"] for d in first]
    assert {d["partner"] for d in again} == {"acme"}


def test_orders_groups_nest_and_release_characters_are_undone() -> None:
    (doc,) = documents(read((SAMPLES / "orders.edi").read_bytes()))
    body = doc["document"]
    assert doc["version"] == {"version": "D", "release": "96A", "agency": "UN", "association": "EAN008"}
    assert body["FTX"][0]["FTX04"] == "Deliver to the back door: ring twice"  # ?: is a colon
    buyer, _supplier, delivery = body["SG2"]
    assert buyer["NAD"]["NAD01"] == "BY" and buyer["SG3"][0]["RFF"]["RFF01"] == ["VA", "DE123456789"]
    assert delivery["NAD"]["NAD05"] == "Pier 7+8"  # ?+ is a plus
    lines = body["SG25"]
    assert [(line["LIN"]["LIN03"][0], line["QTY"][0]["QTY01"][1]) for line in lines] == [
        ("4000862141404", "10"),
        ("4000862141411", "3"),
    ]
    assert lines[0]["SG28"][0]["PRI"]["PRI01"] == ["AAA", "12.5"]
    assert body["CNT"] == [{"CNT01": ["2", "2"]}]


def test_decimal_comma_is_read_as_a_point_and_written_back_as_a_comma() -> None:
    data = (SAMPLES / "invoic.edi").read_bytes()
    (doc,) = documents(read(data))
    line = doc["document"]["SG25"][0]
    assert line["SG26"][0]["MOA"]["MOA01"] == ["203", "125.00"]
    assert doc["document"]["SG48"][0]["MOA"]["MOA01"] == ["77", "291.55"]
    assert b"MOA+77:291,55'" in write([doc])


def test_desadv_packaging_groups() -> None:
    (doc,) = documents(read((SAMPLES / "desadv.edi").read_bytes()))
    packs = doc["document"]["SG10"]
    assert [p["CPS"].get("CPS02") for p in packs] == [None, "1", "1"]
    assert packs[1]["SG15"][0]["LIN"]["LIN03"] == ["4000862141404", "EN"]


def test_multi_interchange_file_with_other_una_groups_and_utf8() -> None:
    data = (SAMPLES / "multi.edi").read_bytes()
    records = read(data)
    docs = documents(records)
    assert [(d["interchange"]["control"], d["control"]) for d in docs] == [("1001", "1"), ("1002", "9")]
    second = docs[1]
    assert second["interchange"]["syntax"] == "UNOY" and second["group"]["control"] == "77"
    assert second["document"]["BGM"]["BGM02"] == "PO-4712|B"  # an escaped element separator
    assert second["document"]["FTX"][0]["FTX04"] == "Grüße aus Köln! 50^50"
    assert second["document"]["SG25"][0]["QTY"][0]["QTY01"] == ["21", "2.5", "KGM"]
    assert [a["acknowledges"] for a in acks(records)] == [
        {"interchange": "1001", "status": "7"},
        {"interchange": "1002", "status": "7"},
    ]
    written = write(docs)
    cut = data.index(b"UNA^")
    assert segments(written[: written.index(b"UNA^")]) == segments(data[:cut])
    assert written[written.index(b"UNA^") :].decode("utf-8").replace("\n", "") == data[cut:].decode("utf-8").replace(
        "\n", ""
    )


def test_syntax_level_b_information_separators_without_una() -> None:
    text = (SAMPLES / "contrl.edi").read_text().replace("UNOA", "UNOB")
    text = text.replace("'\n", "\x1c").replace("+", "\x1d").replace(":", "\x1f")
    docs = documents(read(text.encode()))
    assert docs[0]["document"]["UCI"]["UCI02"] == ["5412345000013", "14"]


def test_unoa_refuses_lowercase_with_code_21() -> None:
    data = (SAMPLES / "orders.edi").read_bytes().replace(b"UNOC", b"UNOA")
    records = read(data)
    assert records[0].error is not None and "segment 5 (FTX): FTX is not UNOA text" in str(records[0].error)
    (contrl,) = acks(records)
    ucm = contrl["document"]["SG1"][0]
    assert ucm["UCM"] == {"UCM01": "1", "UCM02": ["ORDERS", "D", "96A", "UN", "EAN008"], "UCM03": "4", "UCM04": "21"}
    assert [s["UCS"] for s in ucm["SG2"]] == [{"UCS01": str(n), "UCS02": "21"} for n in (5, 10, 13)]


def test_writing_escapes_service_characters() -> None:
    (doc,) = documents(read((SAMPLES / "orders.edi").read_bytes()))
    doc = {**doc, "document": {**doc["document"], "FTX": [{"FTX01": "AAI", "FTX04": "a+b:c'd?e"}]}}
    assert b"FTX+AAI+++a?+b?:c?'d??e'" in write([doc])
    (again,) = documents(read(write([doc])))
    assert again["document"]["FTX"][0]["FTX04"] == "a+b:c'd?e"
