"""The transaction sets Interlace reads and writes, version 004010 (the body between ST and SE).

Each is the segment order of the published set, with the loops, maximum uses, mandatory
segments and elements, and the code lists of the elements partners rely on. A segment that a
partner sends but that is not listed is kept under `_unexpected` and reported (the set is then
accepted with errors noted).
"""

from __future__ import annotations

from interlace.formats.edi.spec import UNBOUNDED, DocSpec, El, codes, el, loop, seg

PURPOSE = codes("00 01 04 05 06 07 18 22")
PO_TYPE = codes("BK CF CN CP DS KN NE NP OS RE RL RO SA SP ST")
ENTITY = codes("BT BY CA CN DA II MA MF OB PF PR RE RI SE SF SN SO ST SU VN WH Z7 ZZ 40 41")
ID_QUALIFIER = codes("1 9 10 11 12 21 24 32 34 38 91 92 93 94 EQ UL ZZ")
UNIT = codes("BG BO BX CA CH CS CT DR DZ EA FT GA GR GS KG KT LB LT MR OZ PA PC PH PK PL PR RL RM SF ST SY TN TU UN YD")
PRODUCT_QUALIFIER = codes("BP CB EN IN MG PI PN SK UA UK UP VA VN VP")
PRICE_BASIS = codes("AA CA CT DI LE NC PE QT RE TE UM")
ACK_TYPE = codes("AC AD AE AH AK AP AT NA RD RF RJ RO ZZ")
LINE_STATUS = codes("AC AR BP DR IA IB IC ID IE IF IH IP IQ IR IS IW R1 R2 R3 R4 SP")
HL_LEVEL = codes("D E F I O P Q S T")
HL_STRUCTURE = codes("0001 0002 0003 0004 0005 0006 0007")
ALLOWANCE = codes("A C N")
SET_STATUS = codes("A E M R W X")
GROUP_STATUS = codes("A E P R")

_REF = seg("REF", el(1, req=True, min=2, max=3), max=UNBOUNDED)
_PER = seg("PER", el(1, req=True, min=2, max=2), max=3)
_DTM = seg("DTM", el(1, req=True, min=3, max=3), el(2, kind="DT"), el(3, kind="TM"), max=10)
_N1 = loop(
    "N1",
    seg("N1", el(1, req=True, codes=ENTITY), el(2, max=60), el(3, codes=ID_QUALIFIER), el(4, min=2, max=80), req=True),
    seg("N2", el(1, req=True), max=2),
    seg("N3", el(1, req=True, max=55), max=2),
    seg("N4", el(1, max=30), el(2, min=2, max=2), el(3, min=3, max=15), el(4, min=2, max=3)),
    seg("REF", el(1, req=True), max=12),
    seg("PER", el(1, req=True), max=3),
    seg("FOB"),
    seg("TD1", max=2),
    seg("TD5", max=12),
    max=200,
)
_SAC = loop("SAC", seg("SAC", el(1, req=True, codes=ALLOWANCE), el(5, kind="N")), seg("CUR"), max=25)
_PID = loop("PID", seg("PID", el(1, req=True, codes=codes("F S X"))), seg("MEA", max=10), max=1000)


def _product(first: int) -> list[El]:
    """Product ID qualifier/ID pairs from element `first` on (PO106/07, IT106/07, LIN02/03 ...)."""
    out: list[El] = []
    for pos in range(first, first + 20, 2):
        out.append(el(pos, codes=PRODUCT_QUALIFIER))
    return out


_ORDER_HEADER = (
    seg("CUR"),
    _REF,
    _PER,
    seg("TAX", max=UNBOUNDED),
    seg("FOB", max=UNBOUNDED),
    seg("CTP", max=UNBOUNDED),
    seg("CSH", max=5),
    _SAC,
    seg("ITD", max=UNBOUNDED),
    seg("DIS", max=20),
    _DTM,
    seg("PID", max=200),
    seg("PWK", max=25),
    seg("PKG", max=200),
    seg("TD1", max=2),
    seg("TD5", max=12),
    seg("TD3", max=12),
    seg("TD4", max=5),
    seg("MAN", max=10),
    seg("TXI", max=UNBOUNDED),
    loop("N9", seg("N9", el(1, req=True)), seg("DTM", max=10), seg("MSG", max=1000), max=1000),
    _N1,
)
"""What 850 and 855 share between their beginning segment and the PO1 loop."""

_LINE_DETAIL = (
    seg("LIN", max=UNBOUNDED),
    seg("SI", max=UNBOUNDED),
    seg("CUR"),
    seg("CN1"),
    seg("PO3", max=25),
    seg("CTP", max=UNBOUNDED),
    seg("MEA", max=40),
    _PID,
    seg("PWK", max=25),
    seg("PO4", max=UNBOUNDED),
    seg("REF", el(1, req=True), max=UNBOUNDED),
    seg("PER", max=3),
    _SAC,
    seg("IT8"),
    seg("ITD", max=2),
    seg("DIS", max=20),
    seg("TAX", max=UNBOUNDED),
    seg("FOB", max=UNBOUNDED),
    seg("SDQ", max=500),
    seg("DTM", el(1, req=True), el(2, kind="DT"), max=10),
    seg("TD1"),
    seg("TD5", max=12),
    seg("TD3", max=12),
    seg("TD4", max=5),
    seg("MAN", max=10),
    seg("MSG", max=UNBOUNDED),
    seg("TXI", max=UNBOUNDED),
)
"""What follows PO1 in the PO1 loop of an 850 and an 855."""


X850 = DocSpec(
    "850",
    "Purchase Order",
    (
        seg(
            "BEG",
            el(1, req=True, codes=PURPOSE),
            el(2, req=True, codes=PO_TYPE),
            el(3, req=True, min=1, max=22),
            el(4, max=30),
            el(5, req=True, kind="DT"),
            req=True,
        ),
        *_ORDER_HEADER,
        loop(
            "PO1",
            seg(
                "PO1",
                el(1, max=20),
                el(2, req=True, kind="R", max=15),
                el(3, req=True, codes=UNIT),
                el(4, kind="R", max=17),
                el(5, codes=PRICE_BASIS),
                *_product(6),
                req=True,
            ),
            *_LINE_DETAIL,
            loop("SCH", seg("SCH", el(1, req=True, kind="R"), el(2, req=True, codes=UNIT)), seg("TD1"), max=200),
            _N1,
            req=True,
            max=100_000,
        ),
        loop("CTT", seg("CTT", el(1, req=True, kind="N", max=6), el(2, kind="R", max=10), req=True), seg("AMT"), max=1),
    ),
)

X855 = DocSpec(
    "855",
    "Purchase Order Acknowledgment",
    (
        seg(
            "BAK",
            el(1, req=True, codes=PURPOSE),
            el(2, req=True, codes=ACK_TYPE),
            el(3, req=True, min=1, max=22),
            el(4, req=True, kind="DT"),
            el(9, kind="DT"),
            req=True,
        ),
        *_ORDER_HEADER,
        loop(
            "PO1",
            seg(
                "PO1",
                el(1, max=20),
                el(2, kind="R", max=15),
                el(3, codes=UNIT),
                el(4, kind="R", max=17),
                el(5, codes=PRICE_BASIS),
                *_product(6),
                req=True,
            ),
            *_LINE_DETAIL,
            loop(
                "ACK",
                seg(
                    "ACK",
                    el(1, req=True, codes=LINE_STATUS),
                    el(2, kind="R", max=15),
                    el(3, codes=UNIT),
                    el(4, min=3, max=3),
                    el(5, kind="DT"),
                ),
                seg("DTM", max=UNBOUNDED),
                max=104,
            ),
            _N1,
            max=100_000,
        ),
        loop("CTT", seg("CTT", el(1, req=True, kind="N", max=6), el(2, kind="R", max=10), req=True), seg("AMT"), max=1),
    ),
)

X856 = DocSpec(
    "856",
    "Ship Notice/Manifest",
    (
        seg(
            "BSN",
            el(1, req=True, codes=PURPOSE),
            el(2, req=True, min=2, max=30),
            el(3, req=True, kind="DT"),
            el(4, req=True, kind="TM"),
            el(5, codes=HL_STRUCTURE),
            req=True,
        ),
        seg("DTM", max=10),
        loop(
            "HL",
            seg(
                "HL",
                el(1, req=True, max=12),
                el(2, max=12),
                el(3, req=True, codes=HL_LEVEL),
                el(4, codes=codes("0 1")),
                req=True,
            ),
            seg("LIN", max=1),
            seg("SN1", el(2, req=True, kind="R", max=10), el(3, req=True, codes=UNIT)),
            seg("SLN", max=1000),
            seg("PRF", el(1, req=True, max=22), el(4, kind="DT")),
            seg("PO4"),
            seg("PID", max=200),
            seg("MEA", max=40),
            seg("PWK", max=25),
            seg("PKG", max=25),
            seg("TD1", max=20),
            seg("TD5", max=12),
            seg("TD3", max=12),
            seg("TD4", max=5),
            seg("TSD"),
            seg("REF", el(1, req=True), max=UNBOUNDED),
            seg("PER", max=3),
            seg("MAN", max=UNBOUNDED),
            seg("DTM", el(1, req=True), el(2, kind="DT"), max=10),
            seg("FOB"),
            seg("PAL"),
            _N1,
            seg("SDQ", max=50),
            seg("ETD"),
            seg("CUR"),
            _SAC,
            seg("GF"),
            seg("YNQ", max=10),
            req=True,
            max=200_000,
            hl=True,
        ),
        seg("CTT", el(1, req=True, kind="N", max=6), el(2, kind="R", max=10)),
    ),
)

X810 = DocSpec(
    "810",
    "Invoice",
    (
        seg(
            "BIG",
            el(1, req=True, kind="DT"),
            el(2, req=True, min=1, max=22),
            el(3, kind="DT"),
            el(4, max=22),
            req=True,
        ),
        seg("NTE", max=100),
        seg("CUR"),
        _REF,
        seg("YNQ", max=10),
        _PER,
        _N1,
        seg("ITD", max=UNBOUNDED),
        _DTM,
        seg("FOB"),
        seg("PID", max=200),
        seg("MEA", max=40),
        seg("PWK", max=25),
        seg("PKG", max=25),
        seg("L7"),
        seg("BAL", max=UNBOUNDED),
        seg("INC"),
        seg("PAM", max=UNBOUNDED),
        loop("N9", seg("N9", el(1, req=True)), seg("MSG", max=10), max=1),
        loop(
            "IT1",
            seg(
                "IT1",
                el(1, max=20),
                el(2, kind="R", max=10),
                el(3, codes=UNIT),
                el(4, kind="R", max=17),
                el(5, codes=PRICE_BASIS),
                *_product(6),
                req=True,
            ),
            seg("CRC"),
            seg("QTY", max=5),
            seg("CUR"),
            seg("IT3", max=5),
            seg("TXI", max=10),
            seg("CTP", max=25),
            seg("PAM", max=10),
            seg("MEA", max=40),
            _PID,
            seg("PWK", max=25),
            seg("PKG", max=25),
            seg("PO4"),
            seg("ITD", max=2),
            seg("REF", el(1, req=True), max=UNBOUNDED),
            seg("YNQ", max=10),
            seg("PER", max=5),
            seg("SDQ", max=100),
            seg("DTM", el(1, req=True), el(2, kind="DT"), max=10),
            seg("CAD", max=UNBOUNDED),
            seg("L7", max=UNBOUNDED),
            seg("SR"),
            _SAC,
            loop("SLN", seg("SLN", el(1, req=True)), seg("DTM"), seg("REF", max=UNBOUNDED), max=1000),
            _N1,
            max=200_000,
        ),
        seg("TDS", el(1, req=True, kind="N", max=15), el(2, kind="N"), el(3, kind="N"), el(4, kind="N"), req=True),
        seg("TXI", max=10),
        seg("CAD"),
        seg("AMT", max=UNBOUNDED),
        loop("SAC", seg("SAC", el(1, req=True, codes=ALLOWANCE), el(5, kind="N")), seg("TXI", max=10), max=25),
        loop("ISS", seg("ISS"), seg("PID"), max=UNBOUNDED),
        seg("CTT", el(1, req=True, kind="N", max=6), el(2, kind="R", max=10)),
    ),
)

X997 = DocSpec(
    "997",
    "Functional Acknowledgment",
    (
        seg(
            "AK1",
            el(1, req=True, min=2, max=2),
            el(2, req=True, kind="N", max=9),
            el(3, max=12),
            req=True,
        ),
        loop(
            "AK2",
            seg("AK2", el(1, req=True, min=3, max=3), el(2, req=True, min=4, max=9), el(3, max=35)),
            loop(
                "AK3",
                seg(
                    "AK3",
                    el(1, req=True, min=2, max=3),
                    el(2, req=True, kind="N", max=6),
                    el(3, max=6),
                    el(4, codes=codes("1 2 3 4 5 6 7 8")),
                ),
                seg(
                    "AK4",
                    el(1, req=True),
                    el(3, req=True, codes=codes("1 2 3 4 5 6 7 8 9 10 12 13")),
                    el(4, max=99),
                    max=99,
                ),
                max=UNBOUNDED,
            ),
            seg(
                "AK5",
                el(1, req=True, codes=SET_STATUS),
                *(el(p, codes=codes("1 2 3 4 5 6 7 8 9 10 11 12 13 15 16 17 18 19 23")) for p in range(2, 7)),
                req=True,
            ),
            max=UNBOUNDED,
        ),
        seg(
            "AK9",
            el(1, req=True, codes=GROUP_STATUS),
            el(2, req=True, kind="N", max=6),
            el(3, req=True, kind="N", max=6),
            el(4, req=True, kind="N", max=6),
            *(
                el(p, codes=codes("1 2 3 4 5 6 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26"))
                for p in range(5, 10)
            ),
            req=True,
        ),
    ),
)

SETS: dict[str, DocSpec] = {spec.name: spec for spec in (X850, X855, X856, X810, X997)}
FUNCTIONAL_GROUP = {"850": "PO", "855": "PR", "856": "SH", "810": "IN", "997": "FA"}
"""GS01 for each set."""
