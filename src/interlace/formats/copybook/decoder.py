"""Turns a laid-out record into one decoding function, built once per codec.

Each item becomes a closure that knows its size, key and decoder, so reading a record walks no
tree and tests no clause. Positions are carried along as items are read, which is how COBOL
places the items after an OCCURS DEPENDING ON (they move up when fewer occur). Only the items
that a DEPENDING ON or a REDEFINES discriminator needs are remembered while decoding. The path of
a bad item (`ORDERS[2].ORDER-AMT`) is put together only when something fails.

With the field-level error policy a bad elementary item reads as None and its error goes into a
list kept in the remembered values (under the key ""); each enclosing group or OCCURS puts its
name in front of the paths of the errors added while it was read, so the cost is paid only when
that policy is on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
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
ERRORS = ""
"""The key of the field-error list in the remembered values (no item is named "")."""


class Located(Exception):
    """A bad item: its path (relative to where it is caught), its offset in the record, the reason."""

    def __init__(self, path: str, offset: int, reason: str) -> None:
        super().__init__(reason)
        self.path = path
        self.offset = offset
        self.reason = reason

    def under(self, name: str) -> Located:
        """The same error seen from the item `name` (or OCCURS index `[n]`) that holds it."""
        self.path = _joined(name, self.path)
        return self


def _joined(name: str, path: str) -> str:
    if not path:
        return name
    if path.startswith("["):
        return name + path
    return f"{name}.{path}"


@dataclass
class Tree:
    """How the record tree is read (the codec's options that are not about one item's bytes)."""

    keys: Mapping[int, str]
    redefines: Mapping[str, RedefineChoice] = field(default_factory=dict)
    conditions: bool = True
    field_errors: bool = False
    redefines_all: bool = False
    variable_occurs: bool = True
    odo_below_minimum: bool = False
    fillers: bool = False


def build_decoder(record: Item, opts: FieldOptions, tree: Tree) -> Callable[[bytes], tuple[dict[str, Any], int]]:
    """A function from a record's bytes to (its object, the bytes it took); raises `Located` for a
    bad item (a bad elementary item, under the field-level policy, only adds to seen[ERRORS])."""
    read = _Builder(record, opts, tree).one(record)
    field_errors = tree.field_errors

    def decode(data: bytes) -> tuple[dict[str, Any], int]:
        seen: Seen = {ERRORS: []} if field_errors else {}
        value, end = read(data, 0, seen)
        if field_errors and seen[ERRORS]:
            value[ERRORS] = seen[ERRORS]
        return value, end

    return decode


class _Builder:
    def __init__(self, record: Item, opts: FieldOptions, tree: Tree) -> None:
        self.opts = opts
        self.tree = tree
        self.keys = tree.keys
        self.redefines = {name.upper(): choice for name, choice in tree.redefines.items()}
        self.remember = {i.depending_on.upper() for i in walk(record) if i.depending_on is not None}
        self.remember |= {c.field.upper() for c in self.redefines.values()}

    def item(self, item: Item) -> Read:
        one = self.one(item)
        if item.occurs is None:
            return one
        low = 0 if self.tree.odo_below_minimum else item.occurs_min
        high, counter = item.count, item.depending_on
        full = item.size * high
        variable = self.tree.variable_occurs
        mark = self.tree.field_errors

        def many(data: bytes, pos: int, seen: Seen) -> tuple[Any, int]:
            count: Any = high
            start = pos
            if counter is not None:
                count = seen.get(counter.upper())
                if not isinstance(count, int) or not low <= count <= high:
                    raise Located("", pos, f"{counter} is {count!r}, outside OCCURS {low} TO {high}")
            values: list[Any] = []
            try:
                while len(values) < count:
                    before = len(seen[ERRORS]) if mark else 0
                    value, pos = one(data, pos, seen)
                    if mark:
                        _prefix(seen, before, f"[{len(values) + 1}]")
                    values.append(value)
            except Located as exc:
                raise exc.under(f"[{len(values) + 1}]") from None
            return values, (pos if variable else start + full)

        return many

    def one(self, item: Item) -> Read:
        if item.is_group:
            members = [self.member(child) for child in item.children if child.redefines is None]

            def group(data: bytes, pos: int, seen: Seen) -> tuple[Any, int]:
                out: dict[str, Any] = {}
                for member in members:
                    pos = member(data, pos, seen, out)
                return out, pos

            if self.tree.field_errors:
                return group
            return self.compiled(item, members, group)
        size = item.size
        convert = decoder_for(item, self.opts)
        remember = item.name.upper() if item.name.upper() in self.remember else None
        lenient = self.tree.field_errors
        text = item.picture is not None and item.picture.kind == "alphanumeric"

        def elementary(data: bytes, pos: int, seen: Seen) -> tuple[Any, int]:
            end = pos + size
            if end > len(data):
                if not (text and pos < len(data)):
                    raise Located("", pos, f"the record ends at byte {len(data)}, before this item ({size} bytes)")
                end = len(data)  # a text item cut short by the end of a variable-length record
            try:
                value = convert(data[pos:end])
            except (FieldError, UnicodeDecodeError) as exc:
                if not lenient:
                    raise Located("", pos, str(exc)) from None
                seen[ERRORS].append(_field_error("", pos, str(exc), data[pos:end]))
                value = None
            if remember is not None:
                seen[remember] = value
            return value, end

        return elementary

    def compiled(self, item: Item, members: list[Member], slow: Read) -> Read:
        """The group as one generated function: runs of plain elementary items (no OCCURS, no
        REDEFINES) are read at their offsets from the run's start without a call each, the
        other members through their own readers. Any bad byte in a run sends the whole group to
        `slow`, the item-by-item reader, which finds and names the bad item; so only good
        records take the fast way, and errors read exactly as before."""
        children = [child for child in item.children if child.redefines is None]
        env: dict[str, Any] = {"_slow": slow, "_errors": (FieldError, UnicodeDecodeError), "_holds": condition_holds}
        lines = ["def group(data, pos, seen):", "    start = pos", "    out = {}"]
        run: list[str] = []
        offset = 0

        def close_run() -> None:
            nonlocal offset, run
            if not run:
                return
            lines.append(f"    if pos + {offset} > len(data):")
            lines.append("        return _slow(data, start, seen)")
            lines.append("    try:")
            lines.extend(f"        {line}" for line in run)
            lines.append("    except _errors:")
            lines.append("        return _slow(data, start, seen)")
            lines.append(f"    pos += {offset}")
            run, offset = [], 0

        for index, (child, member) in enumerate(zip(children, members, strict=True)):
            simple = not child.is_group and child.occurs is None and not child.redefined_by
            if not simple:
                close_run()
                env[f"_m{index}"] = member
                lines.append(f"    pos = _m{index}(data, pos, seen, out)")
                continue
            size = child.size
            if child.is_filler and not self.tree.fillers:
                offset += size
                continue
            env[f"_c{index}"] = decoder_for(child, self.opts)
            run.append(f"v = _c{index}(data[pos + {offset}:pos + {offset + size}])")
            run.append(f"out[{self.keys[id(child)]!r}] = v")
            if child.name.upper() in self.remember:
                run.append(f"seen[{child.name.upper()!r}] = v")
            if self.tree.conditions:
                for number, condition in enumerate(child.conditions):
                    env[f"_k{index}_{number}"] = condition
                    run.append(f"out[{self.keys[id(condition)]!r}] = _holds(_k{index}_{number}, v)")
            offset += size
        close_run()
        lines.append("    return out, pos")
        exec("\n".join(lines), env)
        function: Read = env["group"]
        return function

    def member(self, child: Item, alternative: bool = False) -> Member:
        if child.redefined_by and not alternative:
            return self.alternatives(child)
        read, name = self.item(child), child.name
        if child.is_filler and not self.tree.fillers:

            def skip(data: bytes, pos: int, seen: Seen, out: dict[str, Any]) -> int:
                try:
                    return read(data, pos, seen)[1]
                except Located as exc:
                    raise exc.under(name) from None

            return skip
        key = self.keys[id(child)]
        flags = (
            [(self.keys[id(c)], c) for c in child.conditions] if self.tree.conditions and child.occurs is None else []
        )
        mark = self.tree.field_errors
        if not child.is_group and child.occurs is None and not mark:
            return self.field(child, key, flags)

        def plain(data: bytes, pos: int, seen: Seen, out: dict[str, Any]) -> int:
            before = len(seen[ERRORS]) if mark else 0
            try:
                value, pos = read(data, pos, seen)
            except Located as exc:
                raise exc.under(name) from None
            if mark:
                _prefix(seen, before, name)
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
        text = item.picture is not None and item.picture.kind == "alphanumeric"

        def field(data: bytes, pos: int, seen: Seen, out: dict[str, Any]) -> int:
            end = pos + size
            if end > len(data):
                if not (text and pos < len(data)):
                    raise Located(name, pos, f"the record ends at byte {len(data)}, before this item ({size} bytes)")
                end = len(data)  # a text item cut short by the end of a variable-length record
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
        """An item and the items that REDEFINE it: the configured discriminator picks one (or,
        with `redefines_view: all`, every one is read, one that does not decode being None)."""
        group = [original, *original.redefined_by]
        members = {alt.name.upper(): self.member(alt, True) for alt in group}
        area = region_size(original)
        choice = self.redefines.get(original.name.upper())
        first = members[original.name.upper()]

        def chosen(pos: int, seen: Seen) -> str | None:
            if choice is None:
                return None
            value = seen.get(choice.field.upper())
            text = "" if value is None else str(value).strip()
            wanted = choice.when.get(text, choice.default)
            if wanted is None:
                reason = f"{choice.field} is {text!r}, which selects none of the items sharing this storage"
                raise Located(original.name, pos, reason)
            return wanted.upper()

        if self.tree.redefines_all:
            keys = {alt.name.upper(): None if alt.is_filler else self.keys[id(alt)] for alt in group}

            def every(data: bytes, pos: int, seen: Seen, out: dict[str, Any]) -> int:
                active = chosen(pos, seen)
                for name, member in members.items():
                    if name == active:
                        member(data, pos, seen, out)
                        continue
                    try:
                        member(data, pos, seen, out)
                    except Located:
                        key = keys[name]
                        if key is not None:
                            out[key] = None
                return pos + area

            return every

        def pick(data: bytes, pos: int, seen: Seen, out: dict[str, Any]) -> int:
            active = chosen(pos, seen)
            member = first if active is None else members[active]
            member(data, pos, seen, out)
            return pos + area

        return pick


def _prefix(seen: Seen, before: int, name: str) -> None:
    errors = seen[ERRORS]
    for index in range(before, len(errors)):
        errors[index]["field"] = _joined(name, errors[index]["field"])


def _field_error(path: str, offset: int, reason: str, raw: bytes) -> dict[str, Any]:
    return {"field": path, "offset": offset, "message": reason, "raw": raw.hex().upper()}
