"""Broken documents are rejected with the acknowledgement codes that say why (997 AK3/AK4/AK5/AK9,
TA1), their records are errors naming the interchange, segment position and element, and the
good sets beside them still come through."""

from __future__ import annotations

from typing import Any

from formats.x12.x12_support import SAMPLES, acks, read, write

GOOD = (SAMPLES / "850.x12").read_text()


def broken(old: str, new: str, text: str = GOOD) -> bytes:
    assert old in text
    return text.replace(old, new, 1).encode()


def the_997(data: bytes, **extra: Any) -> dict[str, Any]:
    (ack,) = [a for a in acks(read(data, **extra)) if a["set"] == "997"]
    return dict(ack["document"])


def test_an_accepted_group() -> None:
    ack = the_997(GOOD.encode())
    assert ack["AK1"] == {"AK101": "PO", "AK102": "101"}
    assert [loop["AK5"] for loop in ack["AK2_loop"]] == [{"AK501": "A"}, {"AK501": "A"}]
    assert ack["AK9"] == {"AK901": "A", "AK902": "2", "AK903": "2", "AK904": "2"}


def test_wrong_segment_count_rejects_the_set_with_ak502_4() -> None:
    data = broken("SE*17*0001~", "SE*16*0001~")
    records = read(data)
    assert records[0].error is not None
    assert "interchange 000000101, group 101, set 0001 (850)" in str(records[0].error)
    assert "SE01 says 16 segments, there are 17" in str(records[0].error)
    assert records[1].value is not None and records[1].value["control"] == "0002"  # the other set goes on
    ack = the_997(data)
    assert ack["AK2_loop"][0]["AK5"] == {"AK501": "R", "AK502": "4"}
    assert ack["AK2_loop"][1]["AK5"] == {"AK501": "A"}
    assert ack["AK9"] == {"AK901": "P", "AK902": "2", "AK903": "2", "AK904": "1"}


def test_set_control_number_mismatch_is_ak502_3() -> None:
    data = broken("SE*5*0002~", "SE*5*0009~")
    records = read(data)
    assert records[1].error is not None and "SE02 '0009' does not match ST02 '0002'" in str(records[1].error)
    assert records[1].error.field == "SE02"
    assert the_997(data)["AK2_loop"][1]["AK5"] == {"AK501": "R", "AK502": "3"}


def test_group_control_number_mismatch_rejects_the_group_with_ak905_4() -> None:
    data = broken("GE*2*101~", "GE*2*100~")
    records = read(data)
    assert all(r.error is not None for r in records[:2])
    assert "GE02 does not match GS06" in str(records[0].error)
    ack = the_997(data)
    assert ack["AK9"] == {"AK901": "R", "AK902": "2", "AK903": "2", "AK904": "2", "AK905": "4"}


def test_group_set_count_mismatch_is_ak905_5() -> None:
    ack = the_997(broken("GE*2*101~", "GE*3*101~"))
    assert ack["AK9"]["AK901"] == "R" and ack["AK9"]["AK905"] == "5" and ack["AK9"]["AK902"] == "3"


def test_a_missing_mandatory_element_is_ak3_8_with_ak4_1() -> None:
    data = broken("BEG*00*SA*PO-1001**20240102~", "BEG*00*SA***20240102~")
    records = read(data)
    error = records[0].error
    assert error is not None and error.field == "BEG03" and error.offset == GOOD.index("ST*850*0001")
    assert "segment 2 (BEG), element BEG03: mandatory BEG03 is missing" in str(error)
    loop = the_997(data)["AK2_loop"][0]
    assert loop["AK3_loop"] == [
        {"AK3": {"AK301": "BEG", "AK302": "2", "AK304": "8"}, "AK4": [{"AK401": "3", "AK403": "1"}]}
    ]
    assert loop["AK5"] == {"AK501": "R", "AK502": "5"}


def test_a_code_outside_the_code_list_is_ak4_7_with_a_copy_of_the_value() -> None:
    data = broken("PO1*1*10*EA*", "PO1*1*10*XX*")
    loop = the_997(data)["AK2_loop"][0]
    assert loop["AK3_loop"] == [
        {
            "AK3": {"AK301": "PO1", "AK302": "12", "AK303": "PO1", "AK304": "8"},
            "AK4": [{"AK401": "3", "AK403": "7", "AK404": "XX"}],
        }
    ]


def test_a_missing_mandatory_segment_is_ak3_3() -> None:
    data = broken("BEG*00*SA*PO-1002**20240102~\n", "", GOOD.replace("SE*5*0002~", "SE*4*0002~"))
    records = read(data)
    assert records[1].error is not None and "segment 2 (BEG): mandatory BEG is missing" in str(records[1].error)
    loop = the_997(data)["AK2_loop"][1]
    assert loop["AK3_loop"][0]["AK3"] == {"AK301": "BEG", "AK302": "2", "AK304": "3"}


def test_an_unknown_segment_is_accepted_with_errors_and_kept_aside() -> None:
    data = broken("REF*DP*038~", "REF*DP*038~\nZZZ*1~", GOOD.replace("SE*17*0001~", "SE*18*0001~"))
    records = read(data)
    assert records[0].value is not None
    assert records[0].value["document"]["_unexpected"] == [{"position": 4, "ZZZ": {"ZZZ01": "1"}}]
    assert "segment 4 (ZZZ): ZZZ is not a segment of a 850" in records[0].value["problems"][0]
    ack = the_997(data)
    assert ack["AK2_loop"][0]["AK3_loop"][0]["AK3"] == {"AK301": "ZZZ", "AK302": "4", "AK304": "1"}
    assert ack["AK2_loop"][0]["AK5"] == {"AK501": "E"} and ack["AK9"]["AK901"] == "E"


def test_an_unsupported_set_is_ak502_1() -> None:
    data = broken("ST*850*0002~", "ST*940*0002~")
    assert the_997(data)["AK2_loop"][1]["AK5"] == {"AK501": "R", "AK502": "1"}


def test_interchange_control_mismatch_is_answered_by_a_ta1_and_rejects_its_sets() -> None:
    data = broken("IEA*1*000000101~", "IEA*1*000000999~")
    records = read(data)
    assert [r.error is not None for r in records[:2]] == [True, True]
    assert "IEA02 '000000999' does not match ISA13 '000000101'" in str(records[0].error)
    (ta1,) = acks(records)
    assert ta1["set"] == "TA1"
    assert ta1["document"]["TA1"] == {
        "TA101": "000000101",
        "TA102": "240102",
        "TA103": "1030",
        "TA104": "R",
        "TA105": "001",
    }
    written = write([ta1], us={"id": "ACMEDIST"}).decode()
    assert "\nTA1*000000101*240102*1030*R*001~\nIEA*0*" in written


def test_a_file_cut_short_rejects_the_open_interchange() -> None:
    data = GOOD[: GOOD.index("GE*")].encode()
    records = read(data)
    assert all(r.error is not None for r in records[:2])
    assert "the file ends before the interchange's IEA" in str(records[0].error)
    assert acks(records)[0]["document"]["TA1"]["TA105"] == "023"


def test_a_requested_ta1_is_sent_with_the_997() -> None:
    data = broken("*0*P*>~", "*1*P*>~")
    assert [a["set"] for a in acks(read(data))] == ["TA1", "997"]


def test_an_unknown_sender_is_delivered_marked_and_not_acknowledged() -> None:
    data = broken("ZZ*GLOBEX         ", "ZZ*STRANGER       ")
    records = read(data)
    values = [r.value for r in records if r.value is not None]
    assert len(values) == 2 and all(v["partner"] is None for v in values)
    assert values[0]["problems"] == ["interchange 000000101: sender ZZ:STRANGER matches no trading partner"]
    assert acks(records) == []


def test_an_interchange_for_someone_else_is_rejected_with_ta1_008() -> None:
    records = read(GOOD.encode(), us={"id": "SOMEONE"})
    assert all(r.error is not None for r in records[:2])
    assert "not for us (ZZ:SOMEONE)" in str(records[0].error)
    assert acks(records)[0]["document"]["TA1"]["TA105"] == "008"


def test_garbage_is_one_fatal_error() -> None:
    (record,) = read(b"hello, this is not X12")
    assert record.fatal and record.error is not None and "expected an ISA segment" in str(record.error)


def test_no_acknowledgement_for_a_partner_that_does_not_want_them() -> None:
    from formats.x12.x12_support import PARTNERS

    partners = {**PARTNERS, "globex": {"id": "GLOBEX", "acknowledge": False}}
    assert acks(read(GOOD.encode(), partners=partners)) == []


def test_a_set_control_number_used_twice_in_a_group_is_ak502_23() -> None:
    data = broken("ST*850*0002~", "ST*850*0001~", GOOD.replace("SE*5*0002~", "SE*5*0001~"))
    records = read(data)
    assert records[1].error is not None and "ST02 0001 is used twice in this group" in str(records[1].error)
    assert the_997(data)["AK2_loop"][1]["AK5"] == {"AK501": "R", "AK502": "23"}


def test_an_interchange_control_number_used_twice_in_a_file_is_ta1_025() -> None:
    records = read((GOOD + GOOD).encode())
    assert [r.error is None for r in records if r.value is None or r.value["kind"] == "document"] == [
        True,
        True,
        False,
        False,
    ]
    assert acks(records)[-1]["document"]["TA1"]["TA105"] == "025"
