"""Records described by a COBOL copybook: framing (fixed, RDW, RDW in BDW blocks, lines, ODO-sized,
a record-length field), record types told apart by a segment id, and the record tree.

A record decodes to an object keyed by item name: groups become objects, OCCURS become lists
(OCCURS DEPENDING ON: as many elements as the counter says, and the items after it move up, as
COBOL places them), FILLER is skipped (or kept, named after the item before it), and of an item
and its REDEFINES only the one chosen by the configured discriminator is read (or every one).
Level-88 names are added as booleans after their item.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from interlace.errors import ParseError
from interlace.formats.base import Codec, Record, RecordWriter, lines
from interlace.formats.copybook.codepage import CodePage
from interlace.formats.copybook.config import CopybookFormat
from interlace.formats.copybook.decoder import ERRORS, Located, Tree, build_decoder
from interlace.formats.copybook.encoder import RecordEncoder
from interlace.formats.copybook.fields import FieldError, FieldOptions, decoder_for
from interlace.formats.copybook.layout import offset_table, resolve, walk
from interlace.formats.copybook.model import Item
from interlace.formats.copybook.parser import CopybookError, parse_copybook
from interlace.types import JSONObject

_MAX_RDW = 0xFFFF
_MAX_BLOCK = 32760
Frame = tuple[int, bytes, bytes, int, str | None]
"""(offset of the record's first byte, bytes as read with RDW or newline, record bytes, offset of
the record bytes, why the framing broke or None)."""


def load_records(config: CopybookFormat, base_dir: Path | None = None) -> tuple[list[Item], str]:
    """Every record of the configured copybook (COPY members resolved), and the file name."""
    library = [Path(p) for p in config.copybook_library]
    if config.copybook_text is not None:
        text, file = config.copybook_text, "<copybook>"
        if base_dir is not None:
            library = [base_dir, *library]
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
        library = [path.parent, *library]
    return parse_copybook(text, file, library), file


def load_record(config: CopybookFormat, base_dir: Path | None = None) -> Item:
    """The configured record of the configured copybook, laid out."""
    records, file = load_records(config, base_dir)
    return resolve(_named(records, config.record, file) if config.record else records[0], file)


def _named(records: list[Item], name: str, file: str) -> Item:
    found = [r for r in records if r.name.upper() == name.upper()]
    if not found:
        names = ", ".join(r.name for r in records)
        raise CopybookError(f"no 01 record named {name} (there are: {names})", file=file)
    return found[0]


@dataclass
class _Static:
    """An item at a fixed place in every record (a segment id, a record-length field)."""

    item: Item
    read: Callable[[bytes], Any]

    @property
    def end(self) -> int:
        return self.item.offset + self.item.size

    def value(self, data: bytes) -> Any:
        return self.read(data[self.item.offset : self.end])


class _Layout:
    """One 01 record with its decoder and encoder."""

    def __init__(self, codec: CopybookCodec, record: Item) -> None:
        self.record = record
        self.keys: dict[int, str] = {}
        codec.name_keys(record, self.keys)
        config = codec.config
        tree = Tree(
            self.keys,
            config.redefines,
            config.conditions,
            field_errors=config.errors == "field",
            redefines_all=config.redefines_view == "all",
            variable_occurs=config.variable_size_occurs,
            odo_below_minimum=config.odo_below_minimum == "accept",
            fillers=config.fillers == "keep",
        )
        self.decoder = build_decoder(record, codec.opts, tree)
        self.encoder = RecordEncoder(record, codec.opts, self.keys, config.variable_size_occurs)


class CopybookCodec(Codec):
    def __init__(self, config: CopybookFormat, base_dir: Path | None = None) -> None:
        self.config = config
        records, file = load_records(config, base_dir)
        self.file = file
        self.record = resolve(_named(records, config.record, file) if config.record else records[0], file)
        self.codepage = CodePage(config.encoding)
        self.opts = FieldOptions(
            self.codepage,
            trim=config.trim,
            blank_numeric=config.blank_numeric,
            byteorder=config.byteorder,
            float_format=config.float_format,
            control_characters=config.control_characters,
            low_values=config.low_values,
        )
        self.length = config.record_length or self.record.size
        if self.length < self.record.size and config.record_format == "fixed" and not config.record_length_field:
            raise CopybookError(
                f"record_length {self.length} is shorter than the layout ({self.record.size} bytes)", file=file
            )
        self._check_redefines()
        self.main = _Layout(self, self.record)
        self.keys = self.main.keys
        self.layouts: dict[str, _Layout] = {self.record.name.upper(): self.main}
        self.segment: _Static | None = None
        self.segment_key: list[str] = []
        if config.segments is not None:
            self.segment = self._static(config.segments.field, "segments")
            self.segment_key = self._key_path(self.segment.item)
            names = {*config.segments.records.values(), *([config.segments.default] if config.segments.default else [])}
            for name in sorted(names):
                if name.upper() not in self.layouts:
                    self.layouts[name.upper()] = _Layout(self, resolve(_named(records, name, file), file))
        self.length_field = (
            self._static(config.record_length_field, "record_length_field") if config.record_length_field else None
        )

    # -- set-up ----------------------------------------------------------------------------

    def name_keys(self, item: Item, keys: dict[int, str], previous: str | None = None) -> str:
        """Fill `keys` with each item's key; a kept FILLER is named after the item before it
        (FILLER-AFTER-<name>, as Cobrix's filler_naming_policy previous_field_name). Returns the
        name the item goes by."""
        name = item.name
        if item.is_filler and self.config.fillers == "keep":
            name = f"FILLER-AFTER-{previous or 'START'}"
        keys[id(item)] = self._key(name)
        for condition in item.conditions:
            keys[id(condition)] = self._key(condition.name)
        last = name
        for child in item.children:
            last = self.name_keys(child, keys, last)
        return name

    def _key(self, name: str) -> str:
        return name.lower().replace("-", "_") if self.config.names == "snake" else name

    def _check_redefines(self) -> None:
        items = {i.name.upper(): i for i in walk(self.record) if not i.is_filler}
        for name, choice in self.config.redefines.items():
            target = items.get(name.upper())
            if target is None or not target.redefined_by:
                raise CopybookError(f"redefines: {name} is not an item that others redefine", file=self.file)
            names = {a.name.upper() for a in [target, *target.redefined_by]}
            for alt in [*choice.when.values(), *([choice.default] if choice.default else [])]:
                if alt.upper() not in names:
                    raise CopybookError(f"redefines: {alt} is not {name} or an item redefining it", file=self.file)
            if choice.field.upper() not in items:
                raise CopybookError(f"redefines: no item named {choice.field}", file=self.file)

    def _static(self, name: str, option: str) -> _Static:
        """An elementary item of the main record whose place does not depend on any count."""
        for item in walk(self.record):
            if item.depending_on is not None and self.config.variable_size_occurs:
                break
            if item.name.upper() == name.upper() and not item.is_group and item.occurs is None:
                return _Static(item, decoder_for(item, self.opts))
        raise CopybookError(
            f"{option}: {name} is not an elementary item of {self.record.name} before any OCCURS DEPENDING ON",
            file=self.file,
        )

    def _key_path(self, target: Item) -> list[str]:
        def find(item: Item, path: list[str]) -> list[str] | None:
            if item is target:
                return path
            for child in item.children:
                found = find(child, [*path, self.keys[id(child)]])
                if found is not None:
                    return found
            return None

        return find(self.record, []) or []

    def offset_table(self) -> list[JSONObject]:
        return offset_table(self.record)

    # -- reading ---------------------------------------------------------------------------

    def layout_for(self, data: bytes) -> _Layout:
        """The record type of these bytes (the main record unless segments are configured)."""
        if self.segment is None:
            return self.main
        segments = self.config.segments
        assert segments is not None
        if len(data) < self.segment.end:
            raise Located(self.segment.item.name, 0, f"the record ends at byte {len(data)}, before the segment id")
        try:
            value = self.segment.value(data)
        except FieldError as exc:
            raise Located(self.segment.item.name, self.segment.item.offset, str(exc)) from None
        text = "" if value is None else str(value).strip()
        name = segments.records.get(text, segments.default)
        if name is None:
            raise Located(self.segment.item.name, self.segment.item.offset, f"segment id {text!r} names no record")
        return self.layouts[name.upper()]

    def read(self, stream: BinaryIO, *, name: str = "<stream>") -> Iterator[Record]:
        number = 0
        errors_key = self.config.errors_key
        for offset, raw, data, at, framing_error in self._frames(stream, name):
            number += 1
            if framing_error is not None:
                error = ParseError(framing_error, file=name, record=number, offset=offset)
                yield Record(number, offset, error=error, raw=raw, fatal=True)
                return
            try:
                value = self.layout_for(data).decoder(data)[0]
            except Located as exc:
                error = ParseError(exc.reason, file=name, record=number, offset=at + exc.offset, field=exc.path)
                yield Record(number, offset, error=error, raw=raw)
                continue
            if ERRORS in value:
                value[errors_key] = [{**e, "offset": at + e["offset"]} for e in value.pop(ERRORS)]
            yield Record(number, offset, value, None, raw)

    def _frames(self, stream: BinaryIO, name: str) -> Iterator[Frame]:
        fmt = self.config.record_format
        if fmt == "lines":
            offset = 0
            for line in lines(stream, name=name):
                body = line[:-1] if line.endswith(b"\n") else line
                body = body[:-1] if body.endswith(b"\r") else body
                if body:
                    yield offset, line, body, offset, None
                offset += len(line)
            return
        if fmt == "rdw":
            yield from self._rdw_frames(stream, 0, None)
            return
        if fmt == "rdw_bdw":
            yield from self._blocks(stream)
            return
        if fmt == "odo" or self.length_field is not None or self.segment is not None:
            yield from self._measured(stream)
            return
        offset = 0
        length = self.length
        read = stream.read
        while data := read(length):
            if len(data) < length:
                yield offset, data, data, offset, f"the file ends {len(data)} bytes into a {length}-byte record"
                return
            yield offset, data, data, offset, None
            offset += length

    def _rdw_length(self, header: bytes) -> int:
        """The record bytes after an RDW (its length, adjusted); -1 for an impossible one."""
        config = self.config
        if config.rdw_byteorder == "big":
            size = int.from_bytes(header[:2], "big")
        else:
            size = int.from_bytes(header[2:4], "little")
        size += config.rdw_adjustment - (4 if config.rdw_includes_header else 0)
        return size if size >= 0 else -1

    def _rdw_frames(self, stream: BinaryIO, offset: int, limit: int | None) -> Iterator[Frame]:
        """RDW records from the stream (at most `limit` bytes of it, a block's worth)."""
        read = stream.read
        used = 0
        while limit is None or used < limit:
            header = read(4)
            if not header:
                if limit is not None:
                    yield offset, b"", b"", offset, f"the file ends inside a block ({limit - used} bytes short)"
                return
            size = self._rdw_length(header) if len(header) == 4 else -1
            if size < 0 or (limit is not None and used + 4 + size > limit):
                yield offset, header, b"", offset, f"invalid RDW X'{header.hex().upper()}'"
                return
            data = read(size)
            if len(data) < size:
                yield offset, header + data, data, offset + 4, f"the file ends inside a record (RDW says {size} bytes)"
                return
            yield offset, header + data, data, offset + 4, None
            offset += 4 + size
            used += 4 + size

    def _blocks(self, stream: BinaryIO) -> Iterator[Frame]:
        config = self.config
        offset = 0
        while header := stream.read(4):
            if len(header) < 4:
                yield offset, header, b"", offset, f"invalid BDW X'{header.hex().upper()}'"
                return
            if config.bdw_byteorder == "big":
                extended = header[0] & 0x80
                size = int.from_bytes(header, "big") & 0x7FFFFFFF if extended else int.from_bytes(header[:2], "big")
            else:
                size = int.from_bytes(header[2:4], "little")
            size += config.bdw_adjustment - 4
            if size < 4:
                yield offset, header, b"", offset, f"invalid BDW X'{header.hex().upper()}'"
                return
            for frame in self._rdw_frames(stream, offset + 4, size):
                yield frame
                if frame[4] is not None:
                    return
            offset += 4 + size

    def _measured(self, stream: BinaryIO) -> Iterator[Frame]:
        """Records whose length is found in their own bytes: a record-length field, the layout of
        the segment they are, or their OCCURS DEPENDING ON counts."""
        source = _Buffered(stream)
        offset = 0
        while source.ensure(1):
            try:
                length = self._length_of(source)
            except Located as exc:
                head = source.peek(_MAX_RDW)
                yield offset, head, b"", offset, f"cannot tell the record's length: {exc.path}: {exc.reason}"
                return
            if length <= 0:
                yield offset, source.peek(_MAX_RDW), b"", offset, f"a record length of {length} bytes"
                return
            if not source.ensure(length):
                rest = source.peek(length)
                yield offset, rest, rest, offset, f"the file ends {len(rest)} bytes into a {length}-byte record"
                return
            data = source.take(length)
            yield offset, data, data, offset, None
            offset += length

    def _length_of(self, source: _Buffered) -> int:
        if self.length_field is not None:
            field = self.length_field
            source.ensure(field.end)
            head = source.peek(field.end)
            if len(head) < field.end:
                raise Located(field.item.name, 0, f"the file ends {len(head)} bytes into a record")
            try:
                value = field.value(head)
            except FieldError as exc:
                raise Located(field.item.name, field.item.offset, str(exc)) from None
            mapping = self.config.record_length_map
            if mapping:
                text = "" if value is None else str(value).strip()
                if text not in mapping:
                    raise Located(field.item.name, field.item.offset, f"{text!r} is not in record_length_map")
                return mapping[text]
            if not isinstance(value, int):
                raise Located(field.item.name, field.item.offset, f"{value!r} is not a length")
            return value + self.config.rdw_adjustment
        if self.segment is not None:
            source.ensure(self.segment.end)
            layout = self.layout_for(source.peek(self.segment.end))
        else:
            layout = self.main
        if self.config.record_format == "odo":
            source.ensure(layout.record.size)
            return layout.decoder(source.peek(layout.record.size))[1]
        return self.config.record_length or layout.record.size

    def decode(self, data: bytes) -> JSONObject:
        """One record's bytes (without RDW) as an object; raises `Located` for a bad item."""
        value = self.layout_for(data).decoder(data)[0]
        if ERRORS in value:
            value[self.config.errors_key] = value.pop(ERRORS)
        return value

    def encode(self, record: JSONObject) -> bytes:
        """One record's bytes (without RDW or padding); ValueError naming the item if it does not fit."""
        return self._layout_of(record).encoder.encode(record)

    def _layout_of(self, record: JSONObject) -> _Layout:
        if self.segment is None or self.config.segments is None:
            return self.main
        value: Any = record
        for key in self.segment_key:
            value = value.get(key) if isinstance(value, dict) else None
        text = "" if value is None else str(value).strip()
        name = self.config.segments.records.get(text, self.config.segments.default)
        if name is None:
            raise ValueError(f"field {self.segment.item.name}: segment id {text!r} names no record")
        return self.layouts[name.upper()]

    def writer(self, stream: BinaryIO) -> RecordWriter:
        return _CopybookWriter(self, stream)


class _Buffered:
    """A read-ahead window over a stream, for framings that look into a record before taking it."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.buffer = b""
        self.pos = 0
        self.eof = False

    def ensure(self, n: int) -> bool:
        """Whether `n` bytes are available (reading more if needed)."""
        while len(self.buffer) - self.pos < n and not self.eof:
            more = self.stream.read(max(n, 1 << 16))
            if not more:
                self.eof = True
                break
            self.buffer = self.buffer[self.pos :] + more
            self.pos = 0
        return len(self.buffer) - self.pos >= n

    def peek(self, n: int) -> bytes:
        return self.buffer[self.pos : self.pos + n]

    def take(self, n: int) -> bytes:
        data = self.buffer[self.pos : self.pos + n]
        self.pos += n
        return data


class _CopybookWriter(RecordWriter):
    def __init__(self, codec: CopybookCodec, stream: BinaryIO) -> None:
        self._codec = codec
        self._stream = stream
        self._block: list[bytes] = []
        self._block_size = 4

    def _rdw(self, data: bytes) -> bytes:
        config = self._codec.config
        size = len(data) + (4 if config.rdw_includes_header else 0) - config.rdw_adjustment
        if size > _MAX_RDW or size < 0:
            raise ValueError(f"a record of {len(data)} bytes is too long for an RDW")
        if config.rdw_byteorder == "big":
            return size.to_bytes(2, "big") + b"\0\0" + data
        return b"\0\0" + size.to_bytes(2, "little") + data

    def write(self, record: JSONObject) -> None:
        codec = self._codec
        data = codec.encode(record)
        fmt = codec.config.record_format
        if fmt == "fixed" and codec.length_field is None:
            length = codec.config.record_length or codec._layout_of(record).record.size
            data += bytes([codec.codepage.space]) * (length - len(data))
        elif fmt == "rdw":
            data = self._rdw(data)
        elif fmt == "rdw_bdw":
            framed = self._rdw(data)
            if self._block and self._block_size + len(framed) > _MAX_BLOCK:
                self._flush()
            self._block.append(framed)
            self._block_size += len(framed)
            return
        elif fmt == "lines":
            data += b"\n"
        self._stream.write(data)

    def _flush(self) -> None:
        if not self._block:
            return
        config = self._codec.config
        size = self._block_size - config.bdw_adjustment
        bdw = (
            size.to_bytes(2, "big") + b"\0\0" if config.bdw_byteorder == "big" else b"\0\0" + size.to_bytes(2, "little")
        )
        self._stream.write(bdw + b"".join(self._block))
        self._block, self._block_size = [], 4

    def close(self) -> None:
        self._flush()
