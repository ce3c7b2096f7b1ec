"""Records described by a COBOL copybook: framing (fixed, RDW, lines) and the record tree.

A record decodes to an object keyed by item name: groups become objects, OCCURS become lists
(OCCURS DEPENDING ON: as many elements as the counter says, and the items after it move up, as
COBOL places them), FILLER is skipped, and of an item and its REDEFINES only the one chosen by
the configured discriminator is read. Level-88 names are added as booleans after their item.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from interlace.errors import ParseError
from interlace.formats.base import Codec, Record, RecordWriter, lines
from interlace.formats.copybook.codepage import CodePage
from interlace.formats.copybook.config import CopybookFormat
from interlace.formats.copybook.decoder import Located, build_decoder
from interlace.formats.copybook.encoder import RecordEncoder
from interlace.formats.copybook.fields import FieldOptions
from interlace.formats.copybook.layout import offset_table, resolve, walk
from interlace.formats.copybook.model import Item
from interlace.formats.copybook.parser import CopybookError, parse_copybook
from interlace.types import JSONObject

_MAX_RDW = 0xFFFF


def load_record(config: CopybookFormat, base_dir: Path | None = None) -> Item:
    """The configured record of the configured copybook, laid out."""
    if config.copybook_text is not None:
        text, file = config.copybook_text, "<copybook>"
    else:
        assert config.copybook is not None
        path = Path(config.copybook)
        if base_dir is not None and not path.is_absolute():
            path = base_dir / path
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise CopybookError(f"cannot read the copybook: {exc.strerror}", file=str(path)) from None
        file = str(path)
    records = parse_copybook(text, file)
    if config.record is None:
        record = records[0]
    else:
        found = [r for r in records if r.name.upper() == config.record.upper()]
        if not found:
            names = ", ".join(r.name for r in records)
            raise CopybookError(f"no 01 record named {config.record} (there are: {names})", file=file)
        record = found[0]
    return resolve(record, file)


class CopybookCodec(Codec):
    def __init__(self, config: CopybookFormat, base_dir: Path | None = None) -> None:
        self.config = config
        self.record = load_record(config, base_dir)
        self.codepage = CodePage(config.encoding)
        self.opts = FieldOptions(self.codepage, config.strip, config.blank_numeric, config.byteorder)
        self.length = config.record_length or self.record.size
        if self.length < self.record.size and config.record_format == "fixed":
            raise CopybookError(
                f"record_length {self.length} is shorter than the layout ({self.record.size} bytes)",
                file=str(config.copybook or "<copybook>"),
            )
        self.keys: dict[int, str] = {}
        self._name_keys(self.record)
        self._check_redefines()
        self.decoder = build_decoder(self.record, self.opts, self.keys, config.redefines, config.conditions)
        self.encoder = RecordEncoder(self.record, self.opts, self.keys)

    def _name_keys(self, item: Item) -> None:
        key = item.name.lower().replace("-", "_") if self.config.names == "snake" else item.name
        self.keys[id(item)] = key
        for condition in item.conditions:
            ckey = condition.name.lower().replace("-", "_") if self.config.names == "snake" else condition.name
            self.keys[id(condition)] = ckey
        for child in item.children:
            self._name_keys(child)

    def _check_redefines(self) -> None:
        file = str(self.config.copybook or "<copybook>")
        items = {i.name.upper(): i for i in walk(self.record) if not i.is_filler}
        for name, choice in self.config.redefines.items():
            target = items.get(name.upper())
            if target is None or not target.redefined_by:
                raise CopybookError(f"redefines: {name} is not an item that others redefine", file=file)
            names = {a.name.upper() for a in [target, *target.redefined_by]}
            for alt in [*choice.when.values(), *([choice.default] if choice.default else [])]:
                if alt.upper() not in names:
                    raise CopybookError(f"redefines: {alt} is not {name} or an item redefining it", file=file)
            if choice.field.upper() not in items:
                raise CopybookError(f"redefines: no item named {choice.field}", file=file)

    def offset_table(self) -> list[JSONObject]:
        return offset_table(self.record)

    # -- reading ---------------------------------------------------------------------------

    def read(self, stream: BinaryIO, *, name: str = "<stream>") -> Iterator[Record]:
        number = 0
        for offset, raw, data, framing_error in self._frames(stream, name):
            number += 1
            if framing_error is not None:
                error = ParseError(framing_error, file=name, record=number, offset=offset)
                yield Record(number, offset, error=error, raw=raw, fatal=True)
                return
            try:
                value = self.decoder(data)
            except Located as exc:
                rdw = 4 if self.config.record_format == "rdw" else 0
                at = offset + rdw + exc.offset
                error = ParseError(exc.reason, file=name, record=number, offset=at, field=exc.path)
                yield Record(number, offset, error=error, raw=raw)
                continue
            yield Record(number, offset, value, None, raw)

    def _frames(self, stream: BinaryIO, name: str) -> Iterator[tuple[int, bytes, bytes, str | None]]:
        """(offset, bytes as read with RDW or newline, record bytes, why the framing broke or None)."""
        offset = 0
        fmt = self.config.record_format
        if fmt == "lines":
            for line in lines(stream, name=name):
                body = line[:-1] if line.endswith(b"\n") else line
                body = body[:-1] if body.endswith(b"\r") else body
                if body:
                    yield offset, line, body, None
                offset += len(line)
            return
        while True:
            if fmt == "fixed":
                data = stream.read(self.length)
                if not data:
                    return
                if len(data) < self.length:
                    yield offset, data, data, f"the file ends {len(data)} bytes into a {self.length}-byte record"
                    return
                yield offset, data, data, None
                offset += len(data)
                continue
            header = stream.read(4)
            if not header:
                return
            size = int.from_bytes(header[:2], "big")
            if len(header) < 4 or size < 4:
                yield offset, header, b"", f"invalid RDW X'{header.hex().upper()}'"
                return
            data = stream.read(size - 4)
            if len(data) < size - 4:
                yield offset, header + data, data, f"the file ends inside a record (RDW says {size} bytes)"
                return
            yield offset, header + data, data, None
            offset += size

    def decode(self, data: bytes) -> JSONObject:
        """One record's bytes (without RDW) as an object; raises `Located` for a bad item."""
        return self.decoder(data)

    def encode(self, record: JSONObject) -> bytes:
        """One record's bytes (without RDW or padding); ValueError naming the item if it does not fit."""
        return self.encoder.encode(record)

    def writer(self, stream: BinaryIO) -> RecordWriter:
        return _CopybookWriter(self, stream)


class _CopybookWriter(RecordWriter):
    def __init__(self, codec: CopybookCodec, stream: BinaryIO) -> None:
        self._codec = codec
        self._stream = stream

    def write(self, record: JSONObject) -> None:
        codec = self._codec
        data = codec.encode(record)
        fmt = codec.config.record_format
        if fmt == "fixed":
            data += bytes([codec.codepage.space]) * (codec.length - len(data))
        elif fmt == "rdw":
            if len(data) + 4 > _MAX_RDW:
                raise ValueError(f"a record of {len(data)} bytes is too long for an RDW")
            data = (len(data) + 4).to_bytes(2, "big") + b"\0\0" + data
        else:
            data += b"\n"
        self._stream.write(data)
