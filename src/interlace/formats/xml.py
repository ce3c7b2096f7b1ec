"""XML: records are the elements found at a path (`orders/order`), streamed with iterparse.

Parsing goes through defusedxml: DTDs, entity declarations and external references are refused,
so no entity is ever expanded. Each record element becomes an object: attributes as `@name`,
child elements by local name (a repeated child becomes a list), text beside children as `#text`,
and a leaf element as its text ("" when empty). Namespaces are matched and named by local name.
Every value read is a string; writing turns numbers and decimals into their text.
Elements nested deeper than `MAX_DEPTH` below the record element (or the document nested deeper
than the record path plus that) are refused with a ParseError naming the line, column and byte.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any, BinaryIO, Literal, cast
from xml.etree.ElementTree import Element, SubElement, TreeBuilder, tostring

from pydantic import field_validator

from interlace.errors import ParseError
from interlace.formats.base import Codec, Record, RecordWriter, plain_decimal
from interlace.formats.limits import MAX_DEPTH
from interlace.options import Options
from interlace.types import JSON, JSONObject


class XmlFormat(Options):
    """`format: {type: xml, record_path: orders/order}`."""

    type: Literal["xml"] = "xml"
    record_path: str
    """Slash-separated element names from the root to a record element; `*` matches any name."""
    encoding: str = "utf-8"
    """Used when writing; reading follows the document's own declaration."""

    @field_validator("record_path")
    @classmethod
    def _path(cls, value: str) -> str:
        parts = [p for p in value.strip("/").split("/") if p]
        if not parts:
            raise ValueError("record_path must name at least the record element")
        return "/".join(parts)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _matches(path: list[str], pattern: list[str]) -> bool:
    return len(path) == len(pattern) and all(p == "*" or p == t for t, p in zip(path, pattern, strict=True))


def element_value(elem: Element) -> JSON:
    """An element as JSON: text for a bare leaf, otherwise an object."""
    children = list(elem)
    if not children and not elem.attrib:
        return elem.text or ""
    out: dict[str, Any] = {f"@{_local(k)}": v for k, v in elem.attrib.items()}
    repeated: set[str] = set()
    for child in children:
        key = _local(child.tag)
        value = element_value(child)
        if key in repeated:
            out[key].append(value)
        elif key in out:
            out[key] = [out[key], value]
            repeated.add(key)
        else:
            out[key] = value
    text = (elem.text or "").strip()
    if text:
        out["#text"] = text
    return out


_CHUNK = 1 << 16


def _parse_error(exc: Exception, limit: int, name: str, number: int) -> ParseError:
    from xml.etree.ElementTree import ParseError as XmlSyntaxError

    if isinstance(exc, _TooDeep):
        reason = f"elements nested deeper than {limit} levels at line {exc.line}, column {exc.column}"
        return ParseError(reason, file=name, record=number, offset=exc.offset)
    if isinstance(exc, XmlSyntaxError):
        line, column = getattr(exc, "position", (None, None))
        return ParseError(f"malformed XML at line {line}, column {column}: {exc}", file=name, record=number)
    return ParseError(f"refused XML: {type(exc).__name__}: {exc}", file=name, record=number)


class _TooDeep(Exception):
    def __init__(self, line: int, column: int, offset: int) -> None:
        self.line, self.column, self.offset = line, column, offset


class _DepthLimitedBuilder(TreeBuilder):
    """Builds the tree, refusing an element opened deeper than `limit` while expat is still at it
    (so the error says where). `expat` is set once the parser that feeds it exists."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self.depth = 0
        self.expat: Any = None

    def start(self, tag: Any, attrs: Any) -> Element:
        self.depth += 1
        if self.depth > self.limit:
            p = self.expat
            raise _TooDeep(p.CurrentLineNumber, p.CurrentColumnNumber + 1, p.CurrentByteIndex)
        return super().start(tag, attrs)

    def end(self, tag: Any) -> Element:
        self.depth -= 1
        return super().end(tag)


class XmlCodec(Codec):
    def __init__(self, config: XmlFormat, max_depth: int = MAX_DEPTH) -> None:
        self.config = config
        self.pattern = config.record_path.split("/")
        self.max_depth = max_depth

    def read(self, stream: BinaryIO, *, name: str = "<stream>") -> Iterator[Record]:
        from xml.etree.ElementTree import ParseError as XmlSyntaxError
        from xml.etree.ElementTree import XMLPullParser

        from defusedxml.ElementTree import DefusedXMLParser

        path: list[str] = []
        parents: list[Element] = []
        number = 0
        builder = _DepthLimitedBuilder(len(self.pattern) + self.max_depth)
        parser = DefusedXMLParser(target=builder)
        builder.expat = parser.parser
        pull = XMLPullParser(events=("start", "end"), _parser=parser)
        failure: Exception | None = None
        while failure is None:
            data = stream.read(_CHUNK)
            try:
                if data:
                    pull.feed(data)
                else:
                    pull.close()
            except (_TooDeep, XmlSyntaxError, ValueError, LookupError) as exc:  # DefusedXmlException is a ValueError;
                # LookupError: the document declares an encoding Python does not know
                failure = exc
            try:  # the records completed before a failure in the same chunk are still handed out
                for pair in pull.read_events():
                    event, elem = cast("tuple[str, Element]", pair)  # start/end events carry elements
                    if event == "start":
                        path.append(_local(elem.tag))
                        parents.append(elem)
                        continue
                    matched = _matches(path, self.pattern)
                    path.pop()
                    parents.pop()
                    if matched:
                        number += 1
                        value = element_value(elem)
                        yield Record(number, None, value if isinstance(value, dict) else {"#text": value})
                        if parents:
                            parents[-1].remove(elem)  # keep memory flat: drop what was handed out
                        elem.clear()
            except XmlSyntaxError as exc:
                failure = exc
            if not data:
                break
        if failure is not None:
            yield Record(number + 1, None, error=_parse_error(failure, builder.limit, name, number + 1), fatal=True)

    def writer(self, stream: BinaryIO) -> RecordWriter:
        return _XmlWriter(self, stream)


def _text(value: JSON) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return plain_decimal(value)
    return str(value)


def _fill(elem: Element, value: JSON) -> None:
    if not isinstance(value, dict):
        elem.text = _text(value)
        return
    for key, item in value.items():
        if key.startswith("@"):
            elem.set(key[1:], _text(item))
        elif key == "#text":
            elem.text = _text(item)
        elif isinstance(item, list):
            for each in item:
                _fill(SubElement(elem, key), each)
        else:
            _fill(SubElement(elem, key), item)


class _XmlWriter(RecordWriter):
    def __init__(self, codec: XmlCodec, stream: BinaryIO) -> None:
        self._stream = stream
        self._encoding = codec.config.encoding
        parts = codec.pattern
        if any(p == "*" for p in parts):
            raise ValueError("cannot write XML to a record_path with '*' in it")
        self._wrappers = parts[:-1]
        self._tag = parts[-1]
        self._started = False
        self._closed = False

    def _start(self) -> None:
        if not self._started:
            self._started = True
            head = f'<?xml version="1.0" encoding="{self._encoding}"?>\n'
            head += "".join(f"<{w}>" for w in self._wrappers) + "\n"
            self._stream.write(head.encode(self._encoding))

    def write(self, record: JSONObject) -> None:
        self._start()
        elem = Element(self._tag)
        _fill(elem, record)
        self._stream.write(tostring(elem, encoding="unicode").encode(self._encoding, "xmlcharrefreplace") + b"\n")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._start()
        tail = "".join(f"</{w}>" for w in reversed(self._wrappers)) + "\n"
        self._stream.write(tail.encode(self._encoding))
