"""Broken EDIFACT is rejected with the CONTRL codes that say why (UCI/UCM/UCS/UCD with syntax
error codes, 0085); error records name the interchange, segment position and element."""

from __future__ import annotations

from typing import Any

from formats.edifact.edifact_support import SAMPLES, acks, read

GOOD = (SAMPLES / "orders.edi").read_text()


def broken(old: str, new: str, text: str = GOOD) -> bytes:
    assert old in text
    return text.replace(old, new, 1).encode()


def the_contrl(data: bytes, **extra: Any) -> dict[str, Any]:
    (ack,) = acks(read(data, **extra))
    assert ack["message"] == "CONTRL"
    return dict(ack["document"])


def test_an_accepted_interchange() -> None:
    contrl = the_contrl(GOOD.encode())
    assert contrl["UCI"] == {
        "UCI01": "1001",
        "UCI02": ["4012345000009", "14"],
        "UCI03": ["5412345000013", "14"],
        "UCI04": "7",
    }
    assert contrl["SG1"] == [{"UCM": {"UCM01": "1", "UCM02": ["ORDERS", "D", "96A", "UN", "EAN008"], "UCM03": "7"}}]


def test_wrong_segment_count_is_ucm_4_with_29() -> None:
    data = broken("UNT+21+1'", "UNT+20+1'")
    (record, _) = read(data)
    assert record.error is not None and "interchange 1001, message 1 (ORDERS)" in str(record.error)
    assert "UNT says 20 segments, there are 21" in str(record.error)
    ucm = the_contrl(data)["SG1"][0]["UCM"]
    assert (ucm["UCM03"], ucm["UCM04"], ucm["UCM05"]) == ("4", "29", "UNT")


def test_message_reference_mismatch_is_28() -> None:
    ucm = the_contrl(broken("UNT+21+1'", "UNT+21+2'"))["SG1"][0]["UCM"]
    assert (ucm["UCM03"], ucm["UCM04"], ucm["UCM05"]) == ("4", "28", "UNT")


def test_interchange_reference_mismatch_rejects_the_interchange_with_uci_4_28() -> None:
    data = broken("UNZ+1+1001'", "UNZ+1+1009'")
    records = read(data)
    assert records[0].error is not None and "UNZ reference '1009' does not match UNB '1001'" in str(records[0].error)
    uci = the_contrl(data)["UCI"]
    assert (uci["UCI04"], uci["UCI05"], uci["UCI06"]) == ("4", "28", "UNZ")


def test_interchange_count_mismatch_is_uci_29() -> None:
    uci = the_contrl(broken("UNZ+1+1001'", "UNZ+2+1001'"))["UCI"]
    assert (uci["UCI04"], uci["UCI05"]) == ("4", "29")


def test_a_missing_mandatory_element_is_ucd_13_at_its_position() -> None:
    data = broken("BGM+220+PO-4711+9'", "BGM++PO-4711+9'")
    (record, _) = read(data)
    assert record.error is not None and record.error.field == "BGM01-1"
    assert "segment 2 (BGM), element BGM01-1: mandatory component 1 of BGM01 is missing" in str(record.error)
    sg1 = the_contrl(data)["SG1"][0]
    assert sg1["UCM"]["UCM03"] == "4" and sg1["UCM"]["UCM04"] == "13"
    assert sg1["SG2"] == [{"UCS": {"UCS01": "2"}, "UCD": [{"UCD01": "13", "UCD02": ["1", "1"]}]}]


def test_a_code_outside_the_list_is_ucd_12() -> None:
    sg1 = the_contrl(broken("NAD+SU+", "NAD+XX+"))["SG1"][0]
    assert sg1["SG2"] == [{"UCS": {"UCS01": "9"}, "UCD": [{"UCD01": "12", "UCD02": "1"}]}]


def test_a_missing_mandatory_segment_is_ucs_13() -> None:
    data = broken("UNS+S'\n", "", GOOD.replace("UNT+21+1'", "UNT+20+1'"))
    sg1 = the_contrl(data)["SG1"][0]
    assert sg1["SG2"][0]["UCS"] == {"UCS01": "19", "UCS02": "13"}


def test_an_unknown_message_type_is_rejected() -> None:
    data = broken("UNH+1+ORDERS:", "UNH+1+IFTMIN:")
    (record, _) = read(data)
    assert record.error is not None and "message type 'IFTMIN' is not supported" in str(record.error)


def test_an_unknown_sender_is_delivered_marked_without_contrl() -> None:
    data = broken("UNB+UNOC:3+4012345000009:14", "UNB+UNOC:3+4099999999999:14")
    (record,) = read(data)
    assert record.value is not None and record.value["partner"] is None
    assert record.value["problems"] == ["interchange 1001: sender 4099999999999 matches no trading partner"]


def test_not_for_us_is_uci_7() -> None:
    uci = the_contrl(GOOD.encode(), us={"id": "5400000000000"})["UCI"]
    assert (uci["UCI04"], uci["UCI05"], uci["UCI06"]) == ("4", "7", "UNB")


def test_contrl_only_when_asked_unless_always() -> None:
    unasked = broken("+1001++ORDERS++1'", "+1001++ORDERS'")
    assert acks(read(unasked)) == []
    partners = {"globex": {"id": "4012345000009", "acknowledge": "always"}}
    assert len(acks(read(unasked, partners=partners))) == 1


def test_garbage_and_a_cut_una_are_one_fatal_error() -> None:
    for data in (b"hello", b"UNA:+"):
        (record,) = read(data)
        assert record.fatal and record.error is not None


def test_a_reference_used_twice_is_26() -> None:
    ucm = the_contrl(
        broken(
            "UNZ+1+1001'", "UNH+1+ORDERS:D:96A:UN'\nBGM+220+X+9'\nDTM+137:20240102:102'\nUNS+S'\nUNT+5+1'\nUNZ+2+1001'"
        )
    )
    assert ucm["SG1"][1]["UCM"]["UCM03"] == "4" and ucm["SG1"][1]["UCM"]["UCM04"] == "26"
    records = read((GOOD + GOOD).encode())
    (second,) = [a for a in acks(records)][1:]
    assert second["document"]["UCI"]["UCI04"] == "4" and second["document"]["UCI"]["UCI05"] == "26"
