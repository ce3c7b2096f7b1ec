"""Encodes a record object into the bytes its copybook lays out.

The inverse of `decoder.py`: groups take objects, OCCURS take lists (with DEPENDING ON, the list
length must equal the counter written before it), of an item and its REDEFINES the one named in
the object is written and the area padded to the largest, FILLER gets its VALUE or spaces. A value
that does not fit raises ValueError naming the item's path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from interlace.formats.copybook.decoder import Located
from interlace.formats.copybook.fields import FieldError, FieldOptions, encode
from interlace.formats.copybook.layout import region_size
from interlace.formats.copybook.literals import literal_value
from interlace.formats.copybook.model import Item
from interlace.types import JSONObject


class RecordEncoder:
    def __init__(self, record: Item, opts: FieldOptions, keys: Mapping[int, str], variable_occurs: bool = True) -> None:
        self.record = record
        self.opts = opts
        self.keys = keys
        self.variable_occurs = variable_occurs
        self.space = bytes([opts.codepage.space])

    def encode(self, value: JSONObject) -> bytes:
        out = bytearray()
        try:
            self._group(self.record, value, out, {})
        except Located as exc:
            raise ValueError(f"field {exc.path}: {exc.reason}") from None
        return bytes(out)

    def _group(self, item: Item, value: Any, out: bytearray, seen: dict[str, Any]) -> None:
        if not isinstance(value, dict):
            raise Located("", len(out), f"a group needs an object, not {type(value).__name__}")
        for child in item.children:
            if child.redefines is not None:
                continue
            alternatives = [child, *child.redefined_by]
            chosen = next((a for a in alternatives if not a.is_filler and self.keys[id(a)] in value), child)
            start = len(out)
            try:
                if chosen.is_filler:
                    self._item(chosen, None, out, seen)
                elif self.keys[id(chosen)] in value:
                    self._item(chosen, value[self.keys[id(chosen)]], out, seen)
                elif chosen.value is not None and not chosen.is_group:
                    self._item(chosen, literal_value(chosen), out, seen)
                else:
                    raise Located("", start, "is missing from the record")
            except Located as exc:
                raise exc.under(chosen.name) from None
            if child.redefined_by:
                out.extend(self.space * (start + region_size(child) - len(out)))

    def _item(self, item: Item, value: Any, out: bytearray, seen: dict[str, Any]) -> None:
        if item.occurs is None:
            self._one(item, value, out, seen)
            return
        if item.is_filler and value is None:
            value = [None] * item.count
        if not isinstance(value, list):
            raise Located("", len(out), f"OCCURS needs a list, not {type(value).__name__}")
        if item.depending_on is not None:
            counter = seen.get(item.depending_on.upper())
            if counter != len(value):
                raise Located("", len(out), f"has {len(value)} elements but {item.depending_on} is {counter!r}")
        low = item.occurs_min if item.depending_on is None else 0
        if not low <= len(value) <= item.count:
            raise Located("", len(out), f"has {len(value)} elements, OCCURS allows {item.occurs_min}..{item.count}")
        start = len(out)
        for index, element in enumerate(value):
            try:
                self._one(item, element, out, seen)
            except Located as exc:
                raise exc.under(f"[{index + 1}]") from None
        if not self.variable_occurs:
            out.extend(self.space * (start + item.size * item.count - len(out)))

    def _one(self, item: Item, value: Any, out: bytearray, seen: dict[str, Any]) -> None:
        if item.is_group:
            if item.is_filler and value is None:
                out.extend(self.space * item.size)
            else:
                self._group(item, value, out, seen)
            return
        if item.is_filler:
            value = literal_value(item) if item.value is not None else None
        try:
            out.extend(encode(item, value, self.opts))
        except FieldError as exc:
            raise Located("", len(out), str(exc)) from None
        seen[item.name.upper()] = value
