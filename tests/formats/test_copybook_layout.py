"""Published-style layouts: the offset table and decoded values of hand-made records."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

from interlace.formats.copybook import CopybookCodec, CopybookFormat

COPYBOOKS = Path(__file__).parent / "copybooks"

CUSTOMER_TABLE = [
    # (level, name, start, end, length, occurs)
    (1, "CUSTOMER-RECORD", 1, 146, 146, None),
    (5, "REC-TYPE", 1, 1, 1, None),
    (5, "CUST-ID", 2, 7, 6, None),
    (5, "CUST-NAME", 8, 27, 20, None),
    (5, "BALANCE", 28, 32, 5, None),  # S9(7)V99 COMP-3: 9 digits + sign = 5 bytes
    (5, "CREDIT-LIMIT", 33, 39, 7, None),  # overpunched sign: no extra byte
    (5, "LEAD-AMT", 40, 42, 3, None),
    (5, "SEP-TRAIL", 43, 47, 5, None),  # SIGN SEPARATE: one more byte
    (5, "SEP-LEAD", 48, 51, 4, None),
    (5, "VISITS", 52, 53, 2, None),  # S9(4) COMP: halfword
    (5, "BIG-COUNT", 54, 57, 4, None),  # 9(9) BINARY: fullword
    (5, "HUGE", 58, 65, 8, None),  # S9(18) COMP-4: doubleword
    (5, "NATIVE", 66, 67, 2, None),
    (5, "STATUS-CODE", 68, 69, 2, None),
    (5, "FILLER", 70, 72, 3, None),
    (5, "DETAIL-AREA", 73, 82, 10, None),  # the larger of the two redefinitions
    (10, "PERSON-DETAIL", 73, 82, 10, None),  # a REDEFINES set: each sized as its largest
    (15, "BIRTH-DATE", 73, 80, 8, None),
    (15, "GENDER", 81, 81, 1, None),
    (10, "COMPANY-DETAIL", 73, 82, 10, None),
    (15, "VAT-NO", 73, 79, 7, None),
    (15, "EMPLOYEES", 80, 82, 3, None),
    (5, "PHONES", 83, 104, 22, 2),  # the whole table: 2 x 11
    (10, "PHONE-TYPE", 83, 83, 1, None),
    (10, "PHONE-NO", 84, 93, 10, None),
    (5, "ORDER-COUNT", 105, 106, 2, None),  # after 2 x 11 bytes of PHONES
    (5, "ORDERS", 107, 146, 40, 5),  # OCCURS DEPENDING ON: at its maximum
    (10, "ORDER-NO", 107, 110, 4, None),
    (10, "ORDER-AMT", 111, 114, 4, None),
]

# One company record in cp037, built by hand field by field (not by the encoder).
COMPANY_RECORD = bytes.fromhex(
    "c3"  # REC-TYPE 'C'
    "f0f0f0f1f2f3"  # CUST-ID 000123
    "c1c3d4c5406b40c9d5c3"
    + "40"
    * 10  # CUST-NAME 'ACME , INC'
    + "000123456d"  # BALANCE -1234.56 packed
    "f0f0f5f0f0f0c0"  # CREDIT-LIMIT +500.00, sign C overpunched on the last digit
    "d0f1f2"  # LEAD-AMT -012, sign D overpunched on the first digit
    "f0f0f1f560"  # SEP-TRAIL 001.5 then '-' (X'60')
    "4ef0f0f7"  # SEP-LEAD '+' (X'4E') then 007
    "fffd"  # VISITS -3, halfword two's complement
    "075bcd15"  # BIG-COUNT 123456789
    "fe9cba87a2760000"  # HUGE -10**17
    "8000"  # NATIVE -32768: COMP-5 uses the whole halfword
    "f0f3"  # STATUS-CODE 03
    "404040"  # FILLER
    "c4c5f1f2f3f4f5"
    "00042f"  # COMPANY-DETAIL: VAT-NO 'DE12345', EMPLOYEES 42 (unsigned F)
    "d4"
    "f0f1f2f3"
    + "40"
    * 6  # PHONES[1]
    + "c8"
    "f9f9"
    + "40"
    * 8  # PHONES[2]
    + "f0f2"  # ORDER-COUNT 02
    "c1f14040"
    "0000100c"  # ORDERS[1] 'A1' +1.00
    "c1f24040"
    "9999999d"  # ORDERS[2] 'A2' -99999.99
)

COMPANY_VALUE = {
    "REC-TYPE": "C",
    "IS-PERSON": False,
    "IS-COMPANY": True,
    "CUST-ID": 123,
    "CUST-NAME": "ACME , INC",
    "BALANCE": Decimal("-1234.56"),
    "CREDIT-LIMIT": Decimal("500.00"),
    "LEAD-AMT": -12,
    "SEP-TRAIL": Decimal("-1.5"),
    "SEP-LEAD": 7,
    "VISITS": -3,
    "BIG-COUNT": 123456789,
    "HUGE": -(10**17),
    "NATIVE": -32768,
    "STATUS-CODE": 3,
    "ACTIVE": True,
    "CLOSED": False,
    "DETAIL-AREA": {"COMPANY-DETAIL": {"VAT-NO": "DE12345", "EMPLOYEES": 42}},
    "PHONES": [{"PHONE-TYPE": "M", "PHONE-NO": "0123"}, {"PHONE-TYPE": "H", "PHONE-NO": "99"}],
    "ORDER-COUNT": 2,
    "ORDERS": [{"ORDER-NO": "A1", "ORDER-AMT": Decimal("1.00")}, {"ORDER-NO": "A2", "ORDER-AMT": Decimal("-99999.99")}],
}

SELECT_DETAIL = {"PERSON-DETAIL": {"field": "REC-TYPE", "when": {"P": "PERSON-DETAIL", "C": "COMPANY-DETAIL"}}}


def customer(**options: object) -> CopybookCodec:
    config = CopybookFormat.model_validate(
        {"copybook": "customer.cpy", "encoding": "cp037", "redefines": SELECT_DETAIL, **options}
    )
    return CopybookCodec(config, base_dir=COPYBOOKS)


def test_offset_table_matches_the_hand_computed_layout() -> None:
    rows = customer().offset_table()
    got = [(r["level"], r["field"].strip(), r["start"], r["end"], r["length"], r["occurs"]) for r in rows]
    assert got == CUSTOMER_TABLE
    orders = next(r for r in rows if r["field"].strip() == "ORDERS")
    assert orders["depending_on"] == "ORDER-COUNT" and orders["size"] == 8 and orders["attrs"] == "[]"
    assert next(r for r in rows if r["field"].strip() == "PERSON-DETAIL")["attrs"] == "r"
    company = next(r for r in rows if r["field"].strip() == "COMPANY-DETAIL")
    assert company["redefines"] == "PERSON-DETAIL" and company["attrs"] == "R" and company["size"] == 10


def test_hand_made_record_decodes_to_the_expected_values() -> None:
    data = COMPANY_RECORD + b"\x40" * (146 - len(COMPANY_RECORD))  # RECFM=F: padded to the maximum
    [record] = list(customer().read(io.BytesIO(data), name="cust.dat"))
    assert record.error is None
    assert record.value == COMPANY_VALUE


def test_odo_moves_nothing_but_shortens_rdw_records_and_encoder_matches_hand_bytes() -> None:
    codec = customer(record_format="rdw")
    out = io.BytesIO()
    codec.writer(out).write(COMPANY_VALUE)
    assert out.getvalue() == (len(COMPANY_RECORD) + 4).to_bytes(2, "big") + b"\0\0" + COMPANY_RECORD


def test_discriminator_selects_the_person_layout() -> None:
    person = bytearray(COMPANY_RECORD)
    person[0] = 0xD7  # 'P'
    person[72:82] = bytes.fromhex("f1f9f8f0f0f1f0f1c640")  # BIRTH-DATE 19800101, GENDER 'F', slack
    value = customer(record_format="rdw").decode(bytes(person))
    assert value["DETAIL-AREA"] == {"PERSON-DETAIL": {"BIRTH-DATE": 19800101, "GENDER": "F"}}
    assert value["IS-PERSON"] is True


def test_without_a_discriminator_the_original_item_is_read() -> None:
    config = CopybookFormat(copybook="customer.cpy", record_format="rdw")
    data = (len(COMPANY_RECORD) + 4).to_bytes(2, "big") + b"\0\0" + COMPANY_RECORD
    [record] = list(CopybookCodec(config, base_dir=COPYBOOKS).read(io.BytesIO(data), name="cust.dat"))
    assert record.error is not None
    assert record.error.field == "DETAIL-AREA.PERSON-DETAIL.BIRTH-DATE"
    assert record.error.offset == 4 + 72  # after the RDW, at the item's own byte
    assert record.error.record == 1


def test_snake_case_names_and_no_condition_flags() -> None:
    config = CopybookFormat(copybook="customer.cpy", names="snake", conditions=False, redefines=SELECT_DETAIL)
    value = CopybookCodec(config, base_dir=COPYBOOKS).decode(COMPANY_RECORD)
    assert "is_person" not in value and "active" not in value
    assert value["cust_name"] == "ACME , INC"
    assert value["detail_area"] == {"company_detail": {"vat_no": "DE12345", "employees": 42}}
    assert value["orders"][1] == {"order_no": "A2", "order_amt": Decimal("-99999.99")}
