"""A flat run of segments <-> nested JSON, following a `DocSpec`, with the checks on the way.

Reading matches segments to the spec the way EDI translators do: each segment is looked for at or
after the current place in the current loop, then in the enclosing loops; a segment that starts a
loop opens a new instance of it. What matches nothing is kept under `_unexpected` (with its
position) and reported. A segment is `{"BEG01": "00", "BEG03": "PO-1"}`: empty elements are left
out, a composite element is a list of its components, a repeated element a list of lists.
Writing walks the spec in order (so any key order in the JSON writes the defined segment order),
then any keys the spec does not know, as they come.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from typing import Any

from interlace.formats.edi.problems import Problem
from interlace.formats.edi.spec import DocSpec, El, Loop, Seg

Element = Any
"""An element as JSON: a string, a list of component strings, or a list of such lists (repeats)."""
RawSegment = tuple[int, str, list[Element]]
"""(position in the document, tag, elements after the tag)."""

UNEXPECTED = "_unexpected"
MAX_LEVELS = 12
"""The deepest HL nesting read (an 856 has four or five levels; the limit keeps JSON shallow)."""
_DIGITS = re.compile(r"[0-9]+")
_INTEGER = re.compile(r"-?[0-9]+")
_DECIMAL = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[Ee]-?[0-9]+)?")


_KEYS: dict[str, list[str]] = {}


def segment_value(tag: str, elements: list[Element]) -> dict[str, Element]:
    keys = _KEYS.get(tag)
    if keys is None or len(keys) < len(elements):
        if len(_KEYS) > 4096:  # tags come from the input: keep the cache small
            _KEYS.clear()
        keys = _KEYS[tag] = [f"{tag}{i:02d}" for i in range(1, max(len(elements), 32) + 1)]
    return {k: v for k, v in zip(keys, elements, strict=False) if v != ""}


def segment_elements(tag: str, value: Any) -> list[Element]:
    """A segment object back to its positional elements (trailing empties dropped)."""
    if not isinstance(value, dict):
        raise ValueError(f"segment {tag} must be an object of elements ({tag}01, {tag}02, ...)")
    out: list[Element] = []
    n = len(tag)
    for key, item in value.items():
        if not (key.startswith(tag) and _DIGITS.fullmatch(key[n:])):
            raise ValueError(f"{key!r} is not an element of segment {tag} (write {tag}01, {tag}02, ...)")
        index = int(key[n:])
        if not 1 <= index <= 999:
            raise ValueError(f"{key!r}: element positions run from 01")
        while len(out) < index:
            out.append("")
        out[index - 1] = item
    while out and (out[-1] == "" or out[-1] is None):
        out.pop()
    return ["" if v is None else v for v in out]


class _Index:
    """Per loop level: tag -> the sorted positions of the children it starts."""

    def __init__(self, children: tuple[Seg | Loop, ...]) -> None:
        self.children = children
        self.at: dict[str, list[int]] = {}
        for i, node in enumerate(children):
            self.at.setdefault(node.trigger, []).append(i)
        self.required = [i for i, node in enumerate(children) if node.req]
        self.checks = bool(self.required and self.required != [0])
        """Whether a loop of these children has mandatory parts beyond its first segment."""

    def find(self, tag: str, start: int) -> int | None:
        found = self.at.get(tag)
        if found is None:
            return None
        k = bisect.bisect_left(found, start)
        return found[k] if k < len(found) else None


class TreeBuilder:
    """Builds documents of one spec; `decimal` is the decimal mark R elements are written with
    (read values are given with `.`)."""

    def __init__(self, spec: DocSpec, *, decimal: str = ".") -> None:
        self.spec = spec
        self.decimal = decimal
        self._indexes: dict[int, _Index] = {}
        self._rules: dict[int, list[tuple[int, int | None, bool, bool, El]]] = {}
        self._compile(spec.children)

    def _compile(self, children: tuple[Seg | Loop, ...]) -> None:
        """Index every level and flatten every segment's rules once, so reading does little work."""
        self._index(children)
        for node in children:
            if isinstance(node, Seg):
                self._rules[id(node)] = [(r.pos - 1, r.comp, r.req, r.plain, r) for r in node.elements]
            else:
                self._compile(node.children)

    def _index(self, children: tuple[Seg | Loop, ...]) -> _Index:
        found = self._indexes.get(id(children))
        if found is None:
            found = self._indexes[id(children)] = _Index(children)
        return found

    # -- reading ---------------------------------------------------------------------------

    def build(self, segments: list[RawSegment], end: int) -> tuple[dict[str, Any], list[Problem]]:
        """The document of the segments between header and trailer; `end` is the trailer's
        position (where a missing mandatory segment is reported)."""
        problems: list[Problem] = []
        out: dict[str, Any] = {}
        seen: set[int] = set()
        i, pos = 0, 0
        n = len(segments)
        while True:
            i, pos = self._level(self.spec.children, segments, i, pos, out, seen, problems)
            if i >= n:
                break
            where, tag, elements = segments[i]
            kind = "unexpected_segment" if tag in self.spec.tags else "unrecognized_segment"
            reason = (
                f"{tag} is not expected here in a {self.spec.name}"
                if kind == "unexpected_segment"
                else f"{tag} is not a segment of a {self.spec.name}"
            )
            problems.append(Problem(kind, reason, tag, where))
            out.setdefault(UNEXPECTED, []).append({"position": where, tag: segment_value(tag, elements)})
            i += 1
        self._missing(self.spec.children, seen, segments[i - 1][0] + 1 if segments else end, problems, None)
        return out, problems

    def _level(
        self,
        children: tuple[Seg | Loop, ...],
        segments: list[RawSegment],
        i: int,
        pos: int,
        out: dict[str, Any],
        seen: set[int],
        problems: list[Problem],
        loop: Loop | None = None,
    ) -> tuple[int, int]:
        index = self._indexes.get(id(children)) or self._index(children)
        at = index.at
        n = len(segments)
        hl: list[tuple[Loop, dict[str, Any], int]] = []
        while i < n:
            where, tag, elements = segments[i]
            found = at.get(tag)
            if found is None:
                break
            if len(found) == 1:
                k = found[0]
                if k < pos:
                    break
            else:
                kk = index.find(tag, pos)
                if kk is None:
                    break
                k = kk
            node = children[k]
            if k > pos:  # what is mandatory between the last match and this one was skipped
                self._missing(children[pos:k], seen, where, problems, loop, pos)
            pos = k
            seen.add(k)
            if isinstance(node, Seg):
                self._check(node, tag, elements, where, problems, loop)
                self._put(out, node.key, node.max, segment_value(tag, elements), where, tag, problems, loop, False)
                i += 1
                continue
            trigger = node.children[0]
            assert isinstance(trigger, Seg)
            self._check(trigger, tag, elements, where, problems, node)
            instance: dict[str, Any] = {tag: segment_value(tag, elements)}
            inner: set[int] = {0}
            i, _ = self._level(node.children, segments, i + 1, 1, instance, inner, problems, node)
            if self._indexes[id(node.children)].checks:
                next_at = segments[i][0] if i < n else where + 1
                self._missing(node.children, inner, next_at, problems, node)
            if node.hl:
                hl.append((node, instance, where))
            else:
                self._put(out, node.key, node.max, instance, where, tag, problems, node, True)
        if hl:
            self._nest(hl, out, problems)
        return i, pos

    def _put(
        self,
        out: dict[str, Any],
        key: str,
        most: int,
        value: dict[str, Any],
        where: int,
        tag: str,
        problems: list[Problem],
        loop: Loop | None,
        is_loop: bool,
    ) -> None:
        loop_id = loop.id if loop is not None else None
        if most == 1:
            if key not in out:
                out[key] = value
                return
            kind = "loop_over_max" if is_loop else "segment_over_max"
            what = f"loop {loop_id}" if is_loop else tag
            problems.append(Problem(kind, f"{what} may occur once here", tag, where, loop=loop_id))
            out.setdefault(UNEXPECTED, []).append({"position": where, key: value})
            return
        items = out.setdefault(key, [])
        items.append(value)
        if len(items) == most + 1:
            kind = "loop_over_max" if is_loop else "segment_over_max"
            what = f"loop {loop_id}" if is_loop else tag
            problems.append(Problem(kind, f"{what} may occur at most {most} times here", tag, where, loop=loop_id))

    def _missing(
        self,
        children: tuple[Seg | Loop, ...],
        seen: set[int],
        where: int,
        problems: list[Problem],
        loop: Loop | None,
        first: int = 0,
    ) -> None:
        for k, node in enumerate(children, first):
            if node.req and k not in seen:
                seen.add(k)
                what = f"loop {node.id} ({node.trigger})" if isinstance(node, Loop) else node.tag
                scope = f" in loop {loop.id}" if loop is not None else ""
                problems.append(
                    Problem(
                        "missing_segment",
                        f"mandatory {what} is missing{scope}",
                        node.trigger,
                        where,
                        loop=loop.id if loop else None,
                    )
                )

    def _nest(
        self, found: list[tuple[Loop, dict[str, Any], int]], out: dict[str, Any], problems: list[Problem]
    ) -> None:
        """HL instances under their parents (HL02 -> HL01); roots at this level."""
        by_id: dict[str, tuple[dict[str, Any], int]] = {}
        for node, instance, where in found:
            hl = instance.get("HL", {})
            own, parent = str(hl.get("HL01", "")), str(hl.get("HL02", ""))
            depth = 1
            if own in by_id:
                problems.append(Problem("invalid_code", f"HL01 {own} is used twice", "HL", where, 1, value=own))
            if parent and parent not in by_id:
                reason = f"HL02 names parent {parent}, which is not an earlier HL"
                problems.append(Problem("invalid_code", reason, "HL", where, 2, value=parent))
                out.setdefault(node.key, []).append(instance)
            elif parent and by_id[parent][1] >= MAX_LEVELS:
                reason = f"HL levels nested deeper than {MAX_LEVELS}"
                problems.append(Problem("invalid_code", reason, "HL", where, 2, value=parent))
                out.setdefault(node.key, []).append(instance)
            elif parent:
                above, depth = by_id[parent]
                above.setdefault(node.key, []).append(instance)
                depth += 1
            else:
                out.setdefault(node.key, []).append(instance)
            by_id.setdefault(own, (instance, depth))

    def _check(
        self, spec: Seg, tag: str, elements: list[Element], where: int, problems: list[Problem], loop: Loop | None
    ) -> None:
        loop_id = loop.id if loop is not None else None
        if spec.size is not None and len(elements) > spec.size:
            reason = f"{tag} has {len(elements)} elements, at most {spec.size} are defined"
            problems.append(Problem("too_many_elements", reason, tag, where, spec.size + 1, loop=loop_id))
        count = len(elements)
        for index, comp, req, plain, rule in self._rules.get(id(spec)) or ():
            value = (elements[index] if index < count else "") if comp is None else _pick(elements, rule)
            if value.__class__ is list:
                continue  # a repeat or a composite where a simple element is defined: not checked further
            if not value:
                if req:
                    what = f"component {rule.comp} of {tag}{rule.pos:02d}" if rule.comp else f"{tag}{rule.pos:02d}"
                    problem = Problem(
                        "missing_element", f"mandatory {what} is missing", tag, where, rule.pos, rule.comp
                    )
                    problems.append(_in(problem, loop_id))
                continue
            if plain:
                continue
            found = _problem(rule, value)
            if found is not None:
                kind, reason = found
                problems.append(Problem(kind, reason, tag, where, rule.pos, rule.comp, value[:80], loop_id))
            elif rule.kind == "R" and self.decimal != "." and self.decimal in value:
                _normalise(elements, rule, self.decimal)

    # -- writing ---------------------------------------------------------------------------

    def flatten(self, document: Any) -> Iterator[tuple[str, list[Element]]]:
        """(tag, elements) of the document's segments in the defined order; ValueError naming the
        key for what cannot be written."""
        if not isinstance(document, dict):
            raise ValueError(f"a {self.spec.name} document must be an object of segments and loops")
        yield from self._flat(self.spec.children, document, self.spec.name)

    def _flat(
        self, children: tuple[Seg | Loop, ...], value: dict[str, Any], where: str, skip: str | None = None
    ) -> Iterator[tuple[str, list[Element]]]:
        known = {skip} if skip is not None else set()
        for node in children:
            key = node.key
            if key in known:
                continue
            known.add(key)
            item = value.get(key)
            if item is None:
                continue
            for each in item if isinstance(item, list) else [item]:
                if isinstance(node, Seg):
                    yield node.tag, self._out(node, segment_elements(node.tag, each))
                else:
                    yield from self._instance(node, each, f"{where}.{key}")
        for key, item in value.items():
            if key in known or key == UNEXPECTED:
                continue
            if not _SEGMENT_KEY.fullmatch(key):
                raise ValueError(f"{where}: {key!r} is neither a segment nor a loop of a {self.spec.name}")
            for each in item if isinstance(item, list) else [item]:
                yield key, segment_elements(key, each)

    def _instance(self, node: Loop, each: Any, where: str) -> Iterator[tuple[str, list[Element]]]:
        if not isinstance(each, dict):
            raise ValueError(f"{where}: a loop instance must be an object")
        yield from self._flat(node.children, each, where, node.key if node.hl else None)
        if node.hl:  # the levels under this one follow its own segments
            inner = each.get(node.key)
            for child in inner if isinstance(inner, list) else [] if inner is None else [inner]:
                yield from self._instance(node, child, where)

    def _out(self, spec: Seg, elements: list[Element]) -> list[Element]:
        if self.decimal == ".":
            return elements
        for rule in spec.elements:
            if rule.kind == "R":
                value = _pick(elements, rule)
                if isinstance(value, str | int | float) and not isinstance(value, bool):
                    _normalise(elements, rule, ".", self.decimal)
        return elements


_SEGMENT_KEY = re.compile(r"[A-Z][A-Z0-9]{1,2}")


def _in(problem: Problem, loop: str | None) -> Problem:
    if loop is None:
        return problem
    return Problem(
        problem.kind,
        problem.message,
        problem.segment,
        problem.position,
        problem.element,
        problem.component,
        problem.value,
        loop,
    )


def _pick(elements: list[Element], rule: El) -> Any:
    if rule.pos > len(elements):
        return ""
    value = elements[rule.pos - 1]
    if rule.comp is None:
        return value
    if isinstance(value, str):
        return value if rule.comp == 1 else ""
    if value and isinstance(value[0], list):
        return value
    return value[rule.comp - 1] if rule.comp <= len(value) else ""


def _normalise(elements: list[Element], rule: El, mark: str, to: str = ".") -> None:
    value = elements[rule.pos - 1]
    if rule.comp is None or isinstance(value, str):
        if isinstance(value, str) or rule.comp in (None, 1):
            text = value if isinstance(value, str) else str(value)
            elements[rule.pos - 1] = text.replace(mark, to)
        return
    if isinstance(value, list) and rule.comp <= len(value) and isinstance(value[rule.comp - 1], str | int | float):
        value = list(value)
        value[rule.comp - 1] = str(value[rule.comp - 1]).replace(mark, to)
        elements[rule.pos - 1] = value


def _problem(rule: El, value: str) -> tuple[str, str] | None:
    if rule.max and len(value) > rule.max:
        return "too_long", f"{len(value)} characters, at most {rule.max}"
    if rule.min and len(value) < rule.min:
        return "too_short", f"{len(value)} characters, at least {rule.min}"
    kind = rule.kind
    if rule.codes is not None and value not in rule.codes:
        shown = ", ".join(sorted(rule.codes)[:12]) + (", ..." if len(rule.codes) > 12 else "")
        return "invalid_code", f"{value!r} is not one of the codes defined here ({shown})"
    if kind == "DT" and not _date(value):
        return "invalid_date", f"{value!r} is not a date (CCYYMMDD or YYMMDD)"
    if kind == "TM" and not _time(value):
        return "invalid_time", f"{value!r} is not a time (HHMM, HHMMSS)"
    if kind == "N" and not _INTEGER.fullmatch(value):
        return "invalid_number", f"{value!r} is not a whole number"
    if kind == "R" and not _DECIMAL.fullmatch(value.replace(",", ".", 1)):
        return "invalid_number", f"{value!r} is not a number"
    return None


def _date(value: str) -> bool:
    if not _DIGITS.fullmatch(value) or len(value) not in (6, 8):
        return False
    month, day = int(value[-4:-2]), int(value[-2:])
    return 1 <= month <= 12 and 1 <= day <= 31


def _time(value: str) -> bool:
    if not _DIGITS.fullmatch(value) or len(value) not in (4, 6, 7, 8):
        return False
    return int(value[:2]) < 24 and int(value[2:4]) < 60 and (len(value) < 6 or int(value[4:6]) < 60)
