"""YAML loading that remembers the line of every key and item, for error messages."""

from __future__ import annotations

from typing import Any

import yaml

Path_ = tuple[str | int, ...]


MAX_DEPTH = 100
"""Deeper YAML is refused: PyYAML builds it recursively and would overflow the stack."""
MAX_NODES = 200_000
"""A document that holds more values than this once its aliases are expanded is refused (YAML's
billion laughs: nine aliases of nine aliases of ... take minutes and gigabytes to walk)."""


def _check_size(root: yaml.Node) -> None:
    """Raise a YAMLError if the node graph is too deep or expands (through aliases) too far."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, done = stack.pop()
        if depth > MAX_DEPTH:
            raise yaml.YAMLError(f"line {node.start_mark.line + 1}: nested deeper than {MAX_DEPTH} levels")
        children = _children(node)
        if done:
            total = 1 + sum(sizes[id(c)] for c in children)
            if total > MAX_NODES:
                raise yaml.YAMLError(f"the document expands to more than {MAX_NODES} values (through its aliases)")
            sizes[id(node)] = total
        elif id(node) not in sizes:
            stack.append((node, depth, True))
            stack.extend((c, depth + 1, False) for c in children if id(c) not in sizes)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def load_with_lines(text: str) -> tuple[Any, dict[Path_, int]]:
    """Parse YAML; return the data and a map from each path (keys and list indexes) to its line (1-based).
    Refuses (yaml.YAMLError) a document nested deeper than MAX_DEPTH or expanding past MAX_NODES."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except RecursionError:  # the composer recurses once per level
        raise yaml.YAMLError(f"nested deeper than {MAX_DEPTH} levels") from None
    lines: dict[Path_, int] = {}
    if node is None:
        return None, lines
    _check_size(node)

    def walk(n: yaml.Node, path: Path_) -> None:
        lines[path] = n.start_mark.line + 1
        if isinstance(n, yaml.MappingNode):
            for key, value in n.value:
                k = key.value
                lines[(*path, k)] = key.start_mark.line + 1
                walk(value, (*path, k))
                lines[(*path, k)] = key.start_mark.line + 1
        elif isinstance(n, yaml.SequenceNode):
            for i, item in enumerate(n.value):
                walk(item, (*path, i))

    walk(node, ())
    data = yaml.safe_load(text)
    return data, lines


def line_of(lines: dict[Path_, int], loc: Path_) -> int | None:
    """The line of the deepest known prefix of `loc`, skipping components YAML never had
    (pydantic adds union tags to error locations)."""
    found: int | None = lines.get(())
    path: Path_ = ()
    for part in loc:
        candidate = (*path, part)
        if candidate in lines:
            path = candidate
            found = lines[candidate]
    return found


def dotted(loc: Path_) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
