"""Inputs near the formats' own shapes (random bytes rarely get past the first byte of XML or JSON),
with the values attackers reach for: deep nesting, NaN and infinities, huge and odd numbers,
broken encodings, cut documents."""

from __future__ import annotations

import json

from hypothesis import strategies as st

ODD_NUMBERS = ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1e-400", "123456789012345678901234567890",
               "18446744073709551616", "-0", "1_000", "0x10", "1e5", "+1", ".5", "5.", "\u0661"]  # fmt: skip
ODD_TEXT = ["\x00", "\ufeff", "\ud800", "\u202e", "é", "\r\n", '"', "\\", "<", "&", "]]>", "%", "../"]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(1 << 70), 1 << 70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.sampled_from(["a", "1", " ", *ODD_TEXT]), max_size=6).map("".join),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text("abc", max_size=3), inner, max_size=3),
    max_leaves=12,
)


def _insert(draw: st.DrawFn, data: bytes, choices: list[bytes]) -> bytes:
    """`data` with one of `choices` put in at some place."""
    at = draw(st.integers(0, len(data)))
    return data[:at] + draw(st.sampled_from(choices)) + data[at:]


def nest(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


@st.composite
def json_texts(draw: st.DrawFn) -> bytes:
    """JSON text, then spoiled: an odd number spliced in, nesting wrapped around, a cut, a bad byte."""
    text = json.dumps(draw(values), ensure_ascii=draw(st.booleans()))
    spoil = draw(st.sampled_from(["none", "number", "deep", "cut", "byte"]))
    if spoil == "number":
        text = (
            text.replace("1", draw(st.sampled_from(ODD_NUMBERS)), 1)
            if "1" in text
            else draw(st.sampled_from(ODD_NUMBERS))
        )
    elif spoil == "deep":
        text = nest(draw(st.sampled_from([63, 64, 65, 1000, 1025, 5000])), text)
    elif spoil == "cut":
        text = text[: draw(st.integers(0, len(text)))]
    data = text.encode("utf-8", "surrogatepass")
    return _insert(draw, data, [b"\xff", b"\xc3", b"\x00", b"\xed\xa0\x80"]) if spoil == "byte" else data


@st.composite
def json_documents(draw: st.DrawFn) -> bytes:
    """A JSON array of records (the `json` format)."""
    records = draw(st.lists(json_texts(), max_size=4))
    wrapped = [b'{"v": ' + r + b"}" if draw(st.booleans()) else r for r in records]
    return b"[" + b", ".join(wrapped) + b"]"[: draw(st.integers(0, 1))]


@st.composite
def jsonl_documents(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(json_texts(), max_size=5))
    return b"\n".join(b'{"v": ' + line + b"}" if draw(st.booleans()) else line for line in lines)


tags = st.sampled_from(["orders", "order", "id", "x", "ns:a", "b"])


@st.composite
def xml_documents(draw: st.DrawFn) -> bytes:
    def element(depth: int) -> str:
        tag = draw(tags)
        attrs = draw(st.sampled_from(["", ' a="1"', ' a="&amp;"', " a='\"'", ' xmlns:ns="u"']))
        if depth <= 0 or draw(st.booleans()):
            text = draw(st.sampled_from(["", "t", "&lt;", "&#0;", "&#x10FFFF;", "&bogus;", "<![CDATA[x]]>", "é"]))
            return f"<{tag}{attrs}>{text}</{tag}>"
        children = "".join(element(depth - 1) for _ in range(draw(st.integers(0, 3))))
        return f"<{tag}{attrs}>{children}</{tag}>"

    body = "<orders>" + "".join(f"<order>{element(2)}</order>" for _ in range(draw(st.integers(0, 3)))) + "</orders>"
    spoil = draw(st.sampled_from(["none", "deep", "cut", "dtd", "byte", "decl"]))
    if spoil == "deep":
        depth = draw(st.sampled_from([60, 70, 1000, 5000]))
        body = body.replace("</orders>", "<order>" + "<x>" * depth + "y" + "</x>" * depth + "</order></orders>")
    elif spoil == "cut":
        body = body[: draw(st.integers(0, len(body)))]
    elif spoil == "dtd":
        body = '<!DOCTYPE orders [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]>' + body.replace("t<", "&b;<", 1)
    elif spoil == "decl":
        body = (
            '<?xml version="1.0" encoding="'
            + draw(st.sampled_from(["utf-8", "utf-16", "latin-1", "bogus"]))
            + '"?>'
            + body
        )
    data = body.encode()
    return _insert(draw, data, [b"\xff", b"\x00", b"\xc3", b"<"]) if spoil == "byte" else data


@st.composite
def csv_documents(draw: st.DrawFn) -> bytes:
    cell = st.text(st.sampled_from(["a", "1", ",", ";", '"', "\n", "\r", " ", "é", "\x00"]), max_size=6)
    rows = draw(st.lists(st.lists(cell, min_size=1, max_size=4), max_size=5))
    text = "\n".join(",".join(f'"{c}"' if draw(st.booleans()) else c for c in row) for row in rows)
    data = text.encode("utf-8")
    if draw(st.booleans()):
        data += draw(st.sampled_from([b"\xff", b'"unclosed', b"x" * 140_000]))
    return data


digits_field = st.text(
    st.sampled_from(["0", "1", "9", " ", "-", "+", "_", ".", "e", "\t", "a"]), min_size=5, max_size=5
)


@st.composite
def fixed_records(draw: st.DrawFn) -> bytes:
    lines = []
    for _ in range(draw(st.integers(0, 4))):
        ident = draw(digits_field)
        name = draw(st.text(st.sampled_from(["A", " ", "é"]), min_size=6, max_size=6))
        amount = draw(st.text(st.sampled_from(["0", "5", " ", "-", ".", "_", "N", "a"]), min_size=8, max_size=8))
        line = (ident + name + amount).encode("utf-8")
        lines.append(line[: draw(st.integers(0, len(line)))] if draw(st.integers(0, 5)) == 0 else line)
    return b"\n".join(lines) + b"\n"


yaml_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**6),
    st.text(st.sampled_from(["a", "1", "$", "{", "}", ":", " ", "/"]), max_size=10),
)
CONFIG_WORDS = [
    "hub",
    "systems",
    "flows",
    "trigger",
    "deliver",
    "steps",
    "connector",
    "path",
    "format",
    "system",
    "table",
    "event",
    "map",
    "validate",
]
yaml_values = st.recursive(
    yaml_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(CONFIG_WORDS), inner, max_size=4),
    max_leaves=15,
)


def _edi_samples(folder: str) -> list[bytes]:
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "formats" / folder / "samples"
    return [p.read_bytes() for p in sorted(root.iterdir()) if p.is_file()]


EDI_BYTES = [b"~", b"*", b">", b"^", b"'", b"+", b":", b"?", b"\n", b"\x00", b"\xff", b"\xef\xbb\xbf", b"ISA", b"UNA"]


@st.composite
def edi_documents(draw: st.DrawFn, folder: str) -> bytes:
    """One of our own EDI samples (`tests/formats/<folder>/samples`), spoiled one to three times:
    a range cut out or doubled, a delimiter or odd byte put in, a byte changed, the end cut off."""
    data = draw(st.sampled_from(_edi_samples(folder)))
    for _ in range(draw(st.integers(1, 3))):
        spoil = draw(st.sampled_from(["drop", "double", "insert", "change", "cut", "digits"]))
        at = draw(st.integers(0, len(data)))
        size = draw(st.integers(0, 40))
        if spoil == "drop":
            data = data[:at] + data[at + size :]
        elif spoil == "double":
            data = data[: at + size] + data[at:]
        elif spoil == "insert":
            data = _insert(draw, data, EDI_BYTES)
        elif spoil == "change" and at < len(data):
            data = data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
        elif spoil == "cut":
            data = data[:at]
        elif spoil == "digits":
            data = data[:at] + draw(st.sampled_from([b"0", b"999999999", b"-1", b"1.5", b"00000000000"])) + data[at:]
    return data
