"""Turns a laid-out record into one decoding function, built once per codec.

Each item becomes a closure that knows its size, key and decoder, so reading a record walks no
tree and tests no clause. Positions are carried along as items are read, which is how COBOL
places the items after an OCCURS DEPENDING ON (they move up when fewer occur). Only the items
that a DEPENDING ON or a REDEFINES discriminator needs are remembered while decoding. The path of
a bad item (`ORDERS[2].ORDER-AMT`) is put together only when something fails.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from interlace.formats.copybook.config import RedefineChoice
from interlace.formats.copybook.fields import FieldError, FieldOptions, decoder_for
from interlace.formats.copybook.layout import region_size, walk
from interlace.formats.copybook.literals import condition_holds
from interlace.formats.copybook.model import Condition, Item

Seen = dict[str, Any]
Read = Callable[[bytes, int, Seen], tuple[Any, int]]
"""(record bytes, position, remembered values) -> (value, next position)."""
Member = Callable[[bytes, int, Seen, dict[str, Any]], int]
"""Reads one child into its group's dict; returns the next position."""


class Located(Exception):
    """A bad item: its path (relative to where it is caught), its offset in the record, the reason."""

    def __init__(self, path: str, offset: int, reason: str) -> None:
        super().__init__(reason)
        self.path = path
        self.offset = offset
        self.reason = reason

    def under(self, name: str) -> Located:
        """The same error seen from the item `name` (or OCCURS index `[n]`) that holds it."""
        if not self.path:
            self.path = name
        elif self.path.startswith("["):
            self.path = name + self.path
        else:
            self.path = f"{name}.{self.path}"
        return self


def build_decoder(
    record: Item,
    opts: FieldOptions,
    keys: Mapping[int, str],
    redefines: Mapping[str, RedefineChoice],
    conditions: bool,
) -> Callable[[bytes], dict[str, Any]]:
    """A function from one record's bytes to its object; raises `Located` for a bad item."""
    read = _Builder(record, opts, keys, redefines, conditions).one(record)

    def decode(data: bytes) -> dict[str, Any]:
        value: dict[str, Any] = read(data, 0, {})[0]
        return value

    return decode


class _Builder:
    def __init__(
        self,
        record: Item,
        opts: FieldOptions,
        keys: Mapping[int, str],
        redefines: Mapping[str, RedefineChoice],
        conditions: bool,
    ) -> None:
        self.opts = opts
        self.keys = keys
        self.redefines = {name.upper(): choice for name, choice in redefines.items()}
        self.conditions = conditions
        self.remember = {i.depending_on.upper() for i in walk(record) if i.depending_on is not None}
        self.remember |= {c.field.upper() for c in self.redefines.values()}

    def item(self, item: Item) -> Read:
        one = self.one(item)
        if item.occurs is None:
            return one
        low, high, counter = item.occurs_min, item.count, item.depending_on

        def many(data: bytes, pos: int, seen: Seen) -> tuple[Any, int]:
            count: Any = high
            if counter is not None:
                count = seen.get(counter.upper())
                if not isinstance(count, int) or not low <= count <= high:
                    raise Located("", pos, f"{counter} is {count!r}, outside OCCURS {low} TO {high}")
            values: list[Any] = []
            try:
                while len(values) < count:
                    value, pos = one(data, pos, seen)
                    values.append(value)
            except Located as exc:
                raise exc.under(f"[{len(values) + 1}]") from None
            return values, pos

        return many

    def one(self, item: Item) -> Read:
        if item.is_group:
            members = [self.member(child) for child in item.children if child.redefines is None]

            def group(data: bytes, pos: int, seen: Seen) -> tuple[Any, int]:
                out: dict[str, Any] = {}
                for member in members:
                    pos = member(data, pos, seen, out)
                return out, pos

            return group
        size = item.size
        convert = decoder_for(item, self.opts)
        remember = item.name.upper() if item.name.upper() in self.remember else None

        def elementary(data: bytes, pos: int, seen: Seen) -> tuple[Any, int]:
            end = pos + size
            if end > len(data):
                raise Located("", pos, f"the record ends at byte {len(data)}, before this item ({size} bytes)")
            try:
                value = convert(data[pos:end])
            except (FieldError, UnicodeDecodeError) as exc:
                raise Located("", pos, str(exc)) from None
            if remember is not None:
                seen[remember] = value
            return value, end

        return elementary

    def member(self, child: Item, alternative: bool = False) -> Member:
        if child.redefined_by and not alternative:
            return self.alternatives(child)
        read, name = self.item(child), child.name
        if child.is_filler:

            def skip(data: bytes, pos: int, seen: Seen, out: dict[str, Any]) -> int:
                try:
                    return read(data, pos, seen)[1]
                except Located as exc:
                    raise exc.under(name) from None

            return skip
        key = self.keys[id(child)]
        flags = [(self.keys[id(c)], c) for c in child.conditions] if self.conditions and child.occurs is None else []
        if not child.is_group and child.occurs is None:
            return self.field(child, key, flags)

        def plain(data: bytes, pos: int, seen: Seen, out: dict[str, Any]) -> int:
            try:
                value, pos = read(data, pos, seen)
            except Located as exc:
                raise exc.under(name) from None
            out[key] = value
            for flag, condition in flags:
                out[flag] = condition_holds(condition, value)
            return pos

        return plain

    def field(self, item: Item, key: str, flags: list[tuple[str, Condition]]) -> Member:
        """An elementary item read straight into its group (the common case, kept to one call)."""
        size, name = item.size, item.name
        convert = decoder_for(item, self.opts)
        remember = item.name.upper() if item.name.upper() in self.remember else None

        def field(data: bytes, pos: int, seen: Seen, out: dict[str, Any]) -> int:
            end = pos + size
            if end > len(data):
                raise Located(name, pos, f"the record ends at byte {len(data)}, before this item ({size} bytes)")
            try:
                value = convert(data[pos:end])
            except (FieldError, UnicodeDecodeError) as exc:
                raise Located(name, pos, str(exc)) from None
            if remember is not None:
                seen[remember] = value
            out[key] = value
            for flag, condition in flags:
                out[flag] = condition_holds(condition, value)
            return end

        return field

    def alternatives(self, original: Item) -> Member:
        """An item and the items that REDEFINE it: the configured discriminator picks one."""
        members = {alt.name.upper(): self.member(alt, True) for alt in [original, *original.redefined_by]}
        area = region_size(original)
        choice = self.redefines.get(original.name.upper())
        first = members[original.name.upper()]

        def pick(data: bytes, pos: int, seen: Seen, out: dict[str, Any]) -> int:
            member = first
            if choice is not None:
                value = seen.get(choice.field.upper())
                text = "" if value is None else str(value).strip()
                wanted = choice.when.get(text, choice.default)
                if wanted is None:
                    reason = f"{choice.field} is {text!r}, which selects none of the items sharing this storage"
                    raise Located(original.name, pos, reason)
                member = members[wanted.upper()]
            member(data, pos, seen, out)
            return pos + area

        return pick
