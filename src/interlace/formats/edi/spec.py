"""How a transaction set or message is laid out, as data: segments with their element rules,
loops (X12) and segment groups (EDIFACT) with the segment that starts each, in order.

A spec is written with three small functions, close to the way implementation guides print them:

    loop("N1", seg("N1", el(1, req=True, codes=ENTITY), el(2)), seg("N3", max=2), seg("N4"), max=200)

`max` is the maximum use (1 gives a JSON object, more a list); `req` marks a mandatory segment,
loop or element. Element kinds: AN (text), ID (a code: checked against `codes` when given),
DT (date CCYYMMDD or YYMMDD), TM (time HHMM[SS[d..]]), N (integer, implied decimals), R (decimal).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

UNBOUNDED = 10**9


@dataclass(frozen=True, slots=True)
class El:
    pos: int
    req: bool = False
    codes: frozenset[str] | None = None
    min: int = 0
    max: int = 0
    kind: str = "AN"
    comp: int | None = None
    """The component of a composite element this rule is about (1-based); None: the element."""

    @property
    def plain(self) -> bool:
        """Nothing to check beyond presence."""
        return self.codes is None and not self.min and not self.max and self.kind == "AN"


@dataclass(frozen=True, slots=True)
class Seg:
    tag: str
    elements: tuple[El, ...] = ()
    req: bool = False
    max: int = 1
    size: int | None = None
    """How many elements the segment may have at most (None: not checked)."""

    @property
    def key(self) -> str:
        return self.tag

    @property
    def trigger(self) -> str:
        return self.tag


@dataclass(frozen=True, slots=True)
class Loop:
    id: str
    children: tuple[Seg | Loop, ...]
    req: bool = False
    max: int = UNBOUNDED
    key: str = ""
    hl: bool = False
    """X12 HL loop: its instances nest under their parent (HL02 names the parent's HL01)."""

    @property
    def trigger(self) -> str:
        first = self.children[0]
        assert isinstance(first, Seg)
        return first.tag


@dataclass(frozen=True, slots=True)
class DocSpec:
    """A transaction set (850) or message type (ORDERS): its body between header and trailer."""

    name: str
    title: str
    children: tuple[Seg | Loop, ...]
    tags: frozenset[str] = field(default=frozenset())

    def __post_init__(self) -> None:
        object.__setattr__(self, "tags", frozenset(_tags(self.children)))


def _tags(nodes: Iterable[Seg | Loop]) -> Iterable[str]:
    for node in nodes:
        if isinstance(node, Seg):
            yield node.tag
        else:
            yield from _tags(node.children)


def el(
    pos: int,
    *,
    req: bool = False,
    codes: Iterable[str] | None = None,
    min: int = 0,
    max: int = 0,
    kind: str = "AN",
    comp: int | None = None,
) -> El:
    return El(pos, req, frozenset(codes) if codes is not None else None, min, max, kind, comp)


def seg(tag: str, *elements: El, req: bool = False, max: int = 1, size: int | None = None) -> Seg:
    return Seg(tag, tuple(elements), req, max, size)


def loop(
    id: str, *children: Seg | Loop, req: bool = False, max: int = UNBOUNDED, key: str | None = None, hl: bool = False
) -> Loop:
    if not children or not isinstance(children[0], Seg):
        raise ValueError(f"loop {id} must start with a segment")
    return Loop(id, tuple(children), req, max, key if key is not None else f"{id}_loop", hl)


def codes(text: str) -> frozenset[str]:
    """`codes("00 01 05")`: a code list written as one string."""
    return frozenset(text.split())
