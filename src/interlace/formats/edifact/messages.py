"""The EDIFACT messages Interlace reads and writes: ORDERS, DESADV, INVOIC (directory D96A, the
one EANCOM builds on) and CONTRL (syntax version 3): the body between UNH and UNT, with segment
groups `SG1`, `SG2`, ... numbered as the directory numbers them, mandatory segments and elements,
and the code lists partners rely on.

Composite elements are lists of components: a rule with `comp=2` checks the second component.
"""

from __future__ import annotations

from interlace.formats.edi.spec import DocSpec, Loop, Seg, codes, el, loop, seg

FUNCTION = codes("1 2 3 4 5 6 7 9 10 31 42 43 46 47")
PARTY = codes("BY SU DP IV ST SE SF CZ CN UC PE PR OB II MF FW CA BT PW LC LP MR MS")
AGENCY = codes("3 9 16 86 87 89 90 91 92 ZZZ")
QTY_QUALIFIER = codes("1 12 21 45 46 47 48 59 61 113 124 192 193")
PRICE_QUALIFIER = codes("AAA AAB AAE AAF CAL CT DPR INF INV NTP")
AMOUNT_QUALIFIER = codes("9 38 39 66 77 79 86 98 109 124 125 128 131 146 165 176 203 259 260 402")
ITEM_TYPE = codes("BP EN IN MF SA SRV SRS SG UP VN")
CURRENCY_USE = codes("1 2 3 4 10 11")
MESSAGE_TYPES = codes("ORDERS DESADV INVOIC CONTRL ORDRSP APERAK RECADV")


def _dtm(most: int = 35, *, req: bool = False) -> Seg:
    return seg("DTM", el(1, req=True, comp=1, max=3), el(1, comp=2, max=35), el(1, comp=3, max=3), req=req, max=most)


_RFF = seg("RFF", el(1, req=True, comp=1, max=3), el(1, comp=2, max=35), req=True)
_REFS = loop("SG1", _RFF, _dtm(5), max=10, key="SG1")


def _party(sg: str, ref: str, contact: str, most: int = 99) -> Loop:
    return loop(
        sg,
        seg(
            "NAD",
            el(1, req=True, codes=PARTY),
            el(2, comp=1, req=False, max=35),
            el(2, comp=3, codes=AGENCY),
            el(4, comp=1, max=35),
            req=True,
        ),
        seg("LOC", max=25),
        seg("FII", max=5),
        seg("MOA", max=5),
        loop(ref, _RFF, _dtm(5), max=99, key=ref),
        loop(
            contact,
            seg("CTA", el(1, codes=codes("AD AE AF BJ CW DL GR IC OC PD SD SR")), req=True),
            seg("COM", max=5),
            max=5,
            key=contact,
        ),
        max=most,
        key=sg,
    )


def _bgm(names: str) -> Seg:
    return seg(
        "BGM",
        el(1, req=True, comp=1, codes=codes(names)),
        el(2, max=35),
        el(3, codes=FUNCTION),
        req=True,
    )


_QTY = seg(
    "QTY",
    el(1, req=True, comp=1, codes=QTY_QUALIFIER),
    el(1, req=True, comp=2, kind="R", max=15),
    el(1, comp=3, max=3),
    max=10,
)
_MOA = seg(
    "MOA",
    el(1, req=True, comp=1, codes=AMOUNT_QUALIFIER),
    el(1, comp=2, kind="R", max=35),
    el(1, comp=3, max=3),
    max=10,
)
_PRI = seg("PRI", el(1, req=True, comp=1, codes=PRICE_QUALIFIER), el(1, comp=2, kind="R", max=15), req=True)
_LIN = seg(
    "LIN",
    el(1, max=6),
    el(2, codes=codes("1 2 3 4 5 6 7 8 21 22 23 24 25")),
    el(3, comp=1, max=35),
    el(3, comp=2, codes=ITEM_TYPE),
    req=True,
)
_TAX = seg(
    "TAX", el(1, req=True, codes=codes("5 6 7 9 11")), el(2, comp=1, max=3), el(5, comp=4, kind="R", max=17), req=True
)
_CUX = seg("CUX", el(1, comp=1, codes=CURRENCY_USE), el(1, comp=2, min=3, max=3), req=True)
_ALC = seg("ALC", el(1, req=True, codes=codes("A C N")), req=True)
_CNT = seg(
    "CNT", el(1, req=True, comp=1, codes=codes("1 2 3 4 5 6 7 8 11")), el(1, req=True, comp=2, kind="R", max=18), max=10
)
_UNS = seg("UNS", el(1, req=True, codes=codes("D S")), req=True)

ORDERS = DocSpec(
    "ORDERS",
    "Purchase order",
    (
        _bgm("220 221 224 225 226 227 228 237 258 400 401 402 YA8"),
        _dtm(req=True),
        seg("PAI"),
        seg("ALI", max=5),
        seg("IMD", max=999),
        seg("FTX", el(1, req=True, max=3), max=99),
        _REFS,
        _party("SG2", "SG3", "SG5"),
        loop("SG6", _TAX, seg("MOA"), seg("LOC", max=5), max=5, key="SG6"),
        loop("SG7", _CUX, seg("PCD", max=5), _dtm(5), max=5, key="SG7"),
        loop("SG8", seg("PAT", el(1, req=True, max=3), req=True), _dtm(5), seg("PCD"), seg("MOA"), max=10, key="SG8"),
        loop(
            "SG9",
            seg("TDT", el(1, req=True, max=3), req=True),
            loop("SG10", seg("LOC", req=True), _dtm(5), max=10, key="SG10"),
            max=10,
            key="SG9",
        ),
        loop("SG11", seg("TOD", req=True), seg("LOC", max=2), max=5, key="SG11"),
        loop("SG18", _ALC, seg("ALI", max=5), _dtm(5), max=15, key="SG18"),
        loop(
            "SG25",
            _LIN,
            seg("PIA", el(1, req=True, max=3), el(2, comp=1, req=True, max=35), el(2, comp=2, codes=ITEM_TYPE), max=25),
            seg("IMD", el(1, codes=codes("A B C E F S X")), max=99),
            seg("MEA", max=99),
            _QTY,
            seg("PCD", max=5),
            seg("ALI", max=5),
            _dtm(35),
            _MOA,
            seg("GIN", max=127),
            seg("GIR", max=100),
            seg("QVR"),
            seg("DOC"),
            seg("PAI"),
            seg("FTX", max=99),
            loop("SG28", _PRI, seg("CUX"), seg("APR"), seg("RNG"), _dtm(5), max=25, key="SG28"),
            loop("SG29", _RFF, _dtm(5), max=10, key="SG29"),
            loop("SG30", seg("PAC", req=True), seg("MEA", max=10), max=10, key="SG30"),
            loop("SG33", seg("LOC", req=True), seg("QTY"), _dtm(5), max=9999, key="SG33"),
            loop("SG34", _TAX, seg("MOA"), seg("LOC", max=5), max=10, key="SG34"),
            _party("SG35", "SG36", "SG37"),
            loop("SG38", _ALC, seg("ALI", max=5), _dtm(5), max=15, key="SG38"),
            max=200_000,
            key="SG25",
        ),
        _UNS,
        seg("MOA", max=12),
        _CNT,
    ),
)

DESADV = DocSpec(
    "DESADV",
    "Despatch advice",
    (
        _bgm("351 270 YA5"),
        _dtm(10, req=True),
        seg("ALI", max=5),
        seg("MEA", max=5),
        seg("MOA", max=5),
        _REFS,
        _party("SG2", "SG3", "SG4"),
        loop("SG5", seg("TOD", req=True), seg("LOC", max=2), seg("FTX"), max=10, key="SG5"),
        loop(
            "SG6",
            seg("TDT", el(1, req=True, max=3), req=True),
            seg("PCD"),
            loop("SG7", seg("LOC", req=True), _dtm(5), max=10, key="SG7"),
            max=10,
            key="SG6",
        ),
        loop(
            "SG8",
            seg("EQD", req=True),
            seg("MEA", max=5),
            seg("SEL", max=25),
            seg("EQN"),
            seg("FTX", max=5),
            max=10,
            key="SG8",
        ),
        loop(
            "SG10",
            seg("CPS", el(1, req=True, max=12), el(2, max=12), el(3, max=3), req=True),
            seg("FTX", max=5),
            loop(
                "SG11",
                seg("PAC", el(1, kind="N", max=8), req=True),
                seg("MEA", max=10),
                seg("QTY", max=10),
                loop("SG12", seg("HAN", req=True), max=10, key="SG12"),
                loop(
                    "SG13",
                    seg("PCI", req=True),
                    seg("RFF"),
                    _dtm(5),
                    seg("GIR", max=99),
                    loop("SG14", seg("GIN", req=True), max=1000, key="SG14"),
                    max=1000,
                    key="SG13",
                ),
                max=1000,
                key="SG11",
            ),
            loop(
                "SG15",
                _LIN,
                seg("PIA", el(1, req=True, max=3), max=10),
                seg("IMD", max=25),
                seg("MEA", max=10),
                _QTY,
                seg("ALI", max=10),
                seg("GIN", max=100),
                seg("GIR", max=100),
                seg("DLM", max=100),
                _dtm(10),
                seg("FTX", max=5),
                loop("SG16", _RFF, _dtm(5), max=10, key="SG16"),
                loop(
                    "SG20",
                    seg("PCI", req=True),
                    _dtm(5),
                    seg("MEA", max=10),
                    seg("QTY"),
                    seg("GIN", max=10),
                    max=9999,
                    key="SG20",
                ),
                max=9999,
                key="SG15",
            ),
            max=9999,
            key="SG10",
        ),
        seg("CNT", max=5),
    ),
)

INVOIC = DocSpec(
    "INVOIC",
    "Invoice",
    (
        _bgm("82 325 380 381 383 384 385 386 389 390 393 395"),
        _dtm(req=True),
        seg("PAI"),
        seg("ALI", max=5),
        seg("IMD"),
        seg("FTX", el(1, req=True, max=3), max=10),
        loop("SG1", _RFF, _dtm(5), seg("GIR", max=5), max=99, key="SG1"),
        _party("SG2", "SG3", "SG5"),
        loop("SG6", _TAX, seg("MOA"), seg("LOC", max=5), max=5, key="SG6"),
        loop("SG7", _CUX, seg("PCD", max=5), _dtm(5), max=5, key="SG7"),
        loop(
            "SG8",
            seg("PAT", el(1, req=True, max=3), req=True),
            _dtm(5),
            seg("PCD"),
            seg("MOA"),
            seg("PAI"),
            seg("FII"),
            max=10,
            key="SG8",
        ),
        loop(
            "SG9",
            seg("TDT", el(1, req=True, max=3), req=True),
            loop("SG10", seg("LOC", req=True), _dtm(5), max=10, key="SG10"),
            max=10,
            key="SG9",
        ),
        loop("SG12", seg("TOD", req=True), seg("LOC", max=2), max=5, key="SG12"),
        loop(
            "SG15",
            _ALC,
            seg("ALI", max=5),
            seg("FTX"),
            loop("SG16", _RFF, _dtm(5), max=5, key="SG16"),
            seg("MOA", max=5),
            max=15,
            key="SG15",
        ),
        loop(
            "SG25",
            _LIN,
            seg("PIA", el(1, req=True, max=3), max=25),
            seg("IMD", max=10),
            seg("MEA", max=5),
            _QTY,
            seg("PCD"),
            seg("ALI", max=5),
            _dtm(35),
            seg("GIN", max=1000),
            seg("GIR", max=1000),
            seg("QVR"),
            seg("EQD"),
            seg("FTX", max=5),
            loop(
                "SG26",
                seg("MOA", el(1, req=True, comp=1, codes=AMOUNT_QUALIFIER), el(1, comp=2, kind="R", max=35), req=True),
                seg("CUX"),
                max=5,
                key="SG26",
            ),
            loop("SG28", _PRI, seg("CUX"), seg("APR"), seg("RNG"), _dtm(5), max=25, key="SG28"),
            loop("SG29", _RFF, _dtm(5), max=10, key="SG29"),
            loop("SG30", seg("PAC", req=True), seg("MEA", max=5), max=10, key="SG30"),
            loop("SG33", _TAX, seg("MOA"), seg("LOC", max=5), max=99, key="SG33"),
            _party("SG34", "SG35", "SG36"),
            loop("SG38", _ALC, seg("ALI", max=5), _dtm(5), max=15, key="SG38"),
            max=9_999_999,
            key="SG25",
        ),
        _UNS,
        _CNT,
        loop(
            "SG48",
            seg("MOA", el(1, req=True, comp=1, codes=AMOUNT_QUALIFIER), el(1, comp=2, kind="R", max=35), req=True),
            loop("SG49", _RFF, _dtm(5), max=1, key="SG49"),
            max=100,
            req=True,
            key="SG48",
        ),
        loop("SG50", _TAX, seg("MOA", max=9), max=10, key="SG50"),
        loop("SG51", _ALC, seg("ALI"), seg("MOA", max=2), seg("FTX"), max=15, key="SG51"),
    ),
)

_ACTION = codes("4 7 8")
_SYNTAX_ERROR = codes("2 7 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40")

CONTRL = DocSpec(
    "CONTRL",
    "Syntax and service report",
    (
        seg(
            "UCI",
            el(1, req=True, max=14),
            el(2, req=True, comp=1, max=35),
            el(3, req=True, comp=1, max=35),
            el(4, req=True, codes=_ACTION),
            el(5, codes=_SYNTAX_ERROR),
            el(6, max=3),
            req=True,
        ),
        loop(
            "SG1",
            seg(
                "UCM",
                el(1, req=True, max=14),
                el(2, req=True, comp=1, max=6),
                el(3, req=True, codes=_ACTION),
                el(4, codes=_SYNTAX_ERROR),
                el(5, max=3),
                req=True,
            ),
            loop(
                "SG2",
                seg("UCS", el(1, req=True, kind="N", max=6), el(2, codes=_SYNTAX_ERROR), req=True),
                seg("UCD", el(1, req=True, codes=_SYNTAX_ERROR), el(2, req=True, comp=1, kind="N", max=3), max=99),
                max=999,
                key="SG2",
            ),
            max=999_999,
            key="SG1",
        ),
        loop(
            "SG3",
            seg("UCF", el(1, req=True, max=14), el(4, req=True, codes=_ACTION), req=True),
            loop(
                "SG4",
                seg("UCM", req=True),
                loop("SG5", seg("UCS", req=True), seg("UCD", max=99), max=999, key="SG5"),
                max=999_999,
                key="SG4",
            ),
            max=999_999,
            key="SG3",
        ),
    ),
)

MESSAGES: dict[str, DocSpec] = {spec.name: spec for spec in (ORDERS, DESADV, INVOIC, CONTRL)}
