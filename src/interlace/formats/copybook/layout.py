"""Storage sizes and offsets of a copybook record, and its printable offset table."""

from __future__ import annotations

import math

from interlace.formats.copybook.model import Item, Sign, Usage
from interlace.formats.copybook.parser import CopybookError
from interlace.formats.copybook.picture import float_picture
from interlace.types import JSONObject


def binary_size(digits: int) -> int:
    """Bytes of a COMP/COMP-4/COMP-5 item with this many digits: IBM's halfword, fullword and
    doubleword up to 18 digits; beyond, the fewest bytes whose two's complement holds the digits
    and a sign (as Cobrix sizes them: 9 bytes for 19 digits, 16 for 38)."""
    if digits <= 4:
        return 2
    if digits <= 9:
        return 4
    if digits <= 18:
        return 8
    return math.ceil((digits * math.log2(10) + 1) / 8)


def elementary_size(item: Item) -> int:
    picture = item.picture
    assert picture is not None
    usage = item.usage or "display"
    if picture.kind == "float":
        return picture.length
    if picture.kind != "numeric":
        if usage != "display":
            raise ValueError(f"a PIC {picture.text} item must be DISPLAY")
        return picture.length
    if picture.point is not None and usage != "display":
        raise ValueError(f"PIC {picture.text}: an explicit point is only for DISPLAY items")
    if usage == "display":
        separate = picture.signed and item.sign in ("leading_separate", "trailing_separate")
        return picture.length + (1 if separate else 0)
    if item.sign in ("leading_separate", "trailing_separate") and item.explicit_sign:
        raise ValueError("SIGN SEPARATE is only for DISPLAY items")
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
    if item.sign is None and (item.is_group or (item.picture is not None and item.picture.signed)):
        item.sign = sign  # a group's SIGN clause applies to the signed items under it
    for child in item.children:
        _inherit(child, item.usage, item.sign)
    if not item.children and item.picture is None and item.usage in ("float", "double"):
        item.picture = float_picture(item.usage)
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
    """One row per item, numbered in copybook order as the reference readers' layout tables are:
    1-based start and end, `length` the bytes the item spans (an OCCURS table at its maximum; the
    items of a REDEFINES set each sized as the largest of them), `size` one occurrence's bytes."""
    rows: list[JSONObject] = []

    def visit(item: Item, depth: int, region: int | None) -> None:
        span = region if region is not None else item.size * item.count
        attrs = ("[]" if item.occurs is not None else "") + ("r" if item.redefined_by else "")
        attrs += "R" if item.redefines is not None else ""
        rows.append(
            {
                "level": item.level,
                "field": ("  " * depth) + item.name,
                "attrs": attrs,
                "number": len(rows) + 1,
                "start": item.offset + 1,
                "end": item.offset + span,
                "length": span,
                "size": item.size,
                "pic": item.picture.text if item.picture and item.picture.kind != "float" else None,
                "usage": item.usage if item.picture else None,
                "occurs": item.occurs,
                "depending_on": item.depending_on,
                "redefines": item.redefines,
            }
        )
        shared: dict[int, int] = {}
        for child in item.children:
            if child.redefined_by:
                shared[id(child)] = region_size(child)
                for alt in child.redefined_by:
                    shared[id(alt)] = shared[id(child)]
        for child in item.children:
            visit(child, depth + 1, shared.get(id(child)))

    visit(record, 0, None)
    return rows


def layout_text(rows: list[JSONObject]) -> str:
    """The table as Cobrix prints it (generateRecordLayoutPositions), PIC and usage at the right."""
    lines = ["-------- FIELD LEVEL/NAME --------- --ATTRIBS--    FLD  START     END  LENGTH", ""]
    for row in rows:
        field = str(row["field"])
        indent = len(field) - len(field.lstrip(" "))
        name = f"{' ' * indent}{row['level']} {field.strip()}"
        extra = " ".join(str(row[k]) for k in ("pic", "usage") if row.get(k))
        if row.get("depending_on"):
            extra += f" DEPENDING ON {row['depending_on']}"
        if row.get("redefines"):
            extra += f" REDEFINES {row['redefines']}"
        line = f"{name:<39}{row['attrs']!s:<11}{row['number']:>5}{row['start']:>7}{row['end']:>7}{row['length']:>7}"
        lines.append(f"{line}  {extra.strip()}".rstrip())
    return "\n".join(lines) + "\n"
