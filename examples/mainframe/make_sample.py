"""Writes drop/STOCK.DAT: a sample EBCDIC (cp037) extract laid out by stock.cpy.

    python examples/mainframe/make_sample.py [--records N] [--bad]

`--bad` makes the third record's quantity an invalid packed decimal, to see error/ at work.
The file is written by Interlace's own copybook codec, then checked byte for byte against
one record assembled by hand, so the sample is exactly what a mainframe would send.
"""

from __future__ import annotations

import argparse
import io
from decimal import Decimal
from pathlib import Path

try:
    from interlace.formats.copybook import CopybookCodec, CopybookFormat
except ModuleNotFoundError:  # run with a Python that has not got Interlace installed
    raise SystemExit(
        "make_sample.py writes the sample with Interlace's own codec: run it with the project's Python,\n"
        "  .venv/bin/python examples/mainframe/make_sample.py (after `make setup` or `make run`)"
    ) from None

HERE = Path(__file__).parent
ITEMS = ["BOLT M6", "NUT M6", "WASHER 6MM", "HINGE STEEL", "DRAWER SLIDE", "SHELF BRACKET"]

SELECT = {"REC-BODY": {"field": "REC-TYPE", "when": {"S": "REC-BODY", "T": "TRAILER-BODY"}}}


def codec() -> CopybookCodec:
    config = CopybookFormat(copybook=HERE / "stock.cpy", encoding="cp037", redefines=SELECT)
    return CopybookCodec(config)


def stock(n: int) -> dict[str, object]:
    return {
        "REC-TYPE": "S",
        "REC-BODY": {
            "ITEM-NO": f"IT{n:08d}",
            "DESCRIPTION": ITEMS[n % len(ITEMS)],
            "WAREHOUSE": ["ZRH", "OSL", "LIS"][n % 3],
            "QTY-ON-HAND": (n * 37) % 5000 - (100 if n % 17 == 0 else 0),
            "UNIT-PRICE": Decimal(n % 900 + 10) / 100 + 1,
            "REORDER-LEVEL": 50,
            "LAST-COUNT-DATE": 20261126,
            "STATUS-CODE": "D" if n % 11 == 0 else "A",
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=25)
    parser.add_argument("--bad", action="store_true")
    args = parser.parse_args()
    out = io.BytesIO()
    writer = codec().writer(out)
    for n in range(1, args.records + 1):
        writer.write(stock(n))
    writer.write({"REC-TYPE": "T", "TRAILER-BODY": {"RECORD-COUNT": args.records}})
    data = bytearray(out.getvalue())
    # Record 1 by hand: 'S', 'IT00000001', then the packed quantity 37 = X'0000037C'.
    assert data[:11] == "SIT00000001".encode("cp037")
    assert data[38:42] == bytes.fromhex("0000037c")
    if args.bad and args.records >= 3:
        data[2 * 80 + 38 : 2 * 80 + 42] = b"\x00\x00\x3a\x7c"  # a non-digit nibble
    drop = HERE / "drop"
    drop.mkdir(exist_ok=True)
    (drop / "STOCK.DAT.tmp").write_bytes(bytes(data))
    (drop / "STOCK.DAT.tmp").rename(drop / "STOCK.DAT")  # appear complete, at once
    print(f"wrote {drop / 'STOCK.DAT'}: {args.records + 1} records of 80 bytes")


if __name__ == "__main__":
    main()
