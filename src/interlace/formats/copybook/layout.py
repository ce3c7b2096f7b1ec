"""Storage sizes and offsets of a copybook record, and its printable offset table."""

from __future__ import annotations

from interlace.formats.copybook.model import Item, Sign, Usage
from interlace.formats.copybook.parser import CopybookError
from interlace.types import JSONObject


def binary_size(digits: int) -> int:
    """Bytes of a COMP/COMP-4/COMP-5 item with this many digits (IBM halfword/fullword/doubleword)."""
    if digits <= 4:
        return 2
    if digits <= 9:
        return 4
    if digits <= 18:
        return 8
    raise ValueError(f"{digits} digits do not fit a binary item (18 at most)")


def elementary_size(item: Item) -> int:
    picture = item.picture
    assert picture is not None
    usage = item.usage or "display"
    if picture.kind != "numeric":
        if usage != "display":
            raise ValueError(f"a PIC {picture.text} item must be DISPLAY")
        return picture.length
    if usage == "display":
        return picture.digits + (1 if item.sign in ("leading_separate", "trailing_separate") else 0)
    if usage == "packed":
        return picture.digits // 2 + 1
    return binary_size(picture.digits)


def resolve(record: Item, file: str = "<copybook>") -> Item:
    """Fill in inherited usage and sign, sizes and static offsets; returns `record`."""
    _inherit(record, None, None)
    _check_names(record, file)
    _size(record, file)
    _place(record, 0)
    _check_depending(record, file)
    return record


def _inherit(item: Item, usage: Usage | None, sign: Sign | None) -> None:
    item.usage = item.usage or usage
    item.sign = item.sign or sign
    for child in item.children:
        _inherit(child, item.usage, item.sign)
    if not item.is_group:
        item.usage = item.usage or "display"


def _check_names(item: Item, file: str) -> None:
    seen: set[str] = set()
    by_name: dict[str, Item] = {}
    for child in item.children:
        if not child.is_filler:
            if child.name.upper() in seen:
                raise CopybookError(
                    f"line {child.line}: {child.name} appears twice in {item.name}", file=file, field=child.name
                )
            seen.add(child.name.upper())
        if child.redefines is not None:
            target = by_name.get(child.redefines.upper())
            if target is None:
                raise CopybookError(
                    f"line {child.line}: REDEFINES {child.redefines}, which is not an earlier item of the group",
                    file=file,
                    field=child.name,
                )
            if target.redefines is not None:
                raise CopybookError(
                    f"line {child.line}: redefine {target.redefines}, the original, not {target.name}",
                    file=file,
                    field=child.name,
                )
            target.redefined_by.append(child)
        by_name[child.name.upper()] = child
        _check_names(child, file)


def _size(item: Item, file: str) -> int:
    if not item.is_group:
        try:
            item.size = elementary_size(item)
        except ValueError as exc:
            raise CopybookError(f"line {item.line}: {exc}", file=file, field=item.name) from None
        return item.size
    if not item.children:
        raise CopybookError(f"line {item.line}: {item.name} has neither PIC nor items", file=file, field=item.name)
    regions: dict[int, int] = {}  # id of a redefined item -> bytes of its largest alternative
    total = 0
    for child in item.children:
        length = _size(child, file) * child.count
        if child.redefines is not None:
            target = next(c for c in item.children if c.redefined_by and child in c.redefined_by)
            before = regions[id(target)]
            regions[id(target)] = max(before, length)
            total += regions[id(target)] - before
        else:
            regions[id(child)] = length
            total += length
    item.size = total
    return total


def region_size(item: Item) -> int:
    """Bytes taken by an item together with every item that redefines it."""
    return max(alt.size * alt.count for alt in [item, *item.redefined_by])


def _place(item: Item, offset: int) -> None:
    item.offset = offset
    position = offset
    for child in item.children:
        if child.redefines is not None:
            continue
        _place(child, position)
        for alt in child.redefined_by:
            _place(alt, position)
        position += region_size(child)


def walk(item: Item) -> list[Item]:
    """The item and all items under it, in copybook order."""
    out = [item]
    for child in item.children:
        out.extend(walk(child))
    return out


def _check_depending(record: Item, file: str) -> None:
    order = walk(record)
    for index, item in enumerate(order):
        if item.depending_on is None:
            continue
        name = item.depending_on.upper()
        earlier = [i for i in order[:index] if i.name.upper() == name]
        if not earlier:
            raise CopybookError(
                f"line {item.line}: DEPENDING ON {item.depending_on}, which is not an earlier item",
                file=file,
                field=item.name,
            )
        counter = earlier[-1]
        if counter.picture is None or counter.picture.kind != "numeric" or counter.picture.scale:
            raise CopybookError(
                f"line {item.line}: DEPENDING ON {counter.name}, which is not an integer item",
                file=file,
                field=item.name,
            )


def offset_table(record: Item) -> list[JSONObject]:
    """One row per item (first occurrence of repeated ones): 1-based start and end, length."""
    rows: list[JSONObject] = []

    def visit(item: Item, depth: int) -> None:
        rows.append(
            {
                "level": item.level,
                "field": ("  " * depth) + item.name,
                "start": item.offset + 1,
                "end": item.offset + item.size,
                "length": item.size,
                "pic": item.picture.text if item.picture else None,
                "usage": item.usage if item.picture else None,
                "occurs": item.occurs,
                "depending_on": item.depending_on,
                "redefines": item.redefines,
            }
        )
        for child in item.children:
            visit(child, depth + 1)

    visit(record, 0)
    return rows
