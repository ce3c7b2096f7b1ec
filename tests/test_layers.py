"""The house rule, read from the code: every import in src/interlace points DOWN the layer order
below, and no modules import each other in a circle.

How imports are read (with `ast`, nothing is executed):
- every `import` and `from ... import` counts, wherever it is: at the top, inside a function, and
  under `if TYPE_CHECKING:`. An upward import for typing only still couples the layers (the lower
  layer cannot be read, or moved, without the upper one), so it counts like any other.
- a module named in a string is imported by name when the string is an argument of
  `importlib.import_module(...)` or an element of a tuple or list of such names (the way
  `cli/main.py` lists its command modules); that counts as an import too.
- `from interlace.a import b` is an edge to the module `interlace.a.b` when that is a module, else
  to `interlace.a`. The implicit run of a parent package's `__init__` is not an edge.
- a module's unit is its first package under `interlace` (`interlace.connectors.files.bulk` is in
  `connectors`); `interlace/__init__.py` holds only the version and sits at the bottom.
- an import between two units is allowed only when the imported unit sits in a LOWER layer. Two units
  of one layer (say `readiness` and `web`) are peers and do not import each other.
- inside one unit imports may go any way, but never in a circle: any set of modules that reach each
  other through imports (a strongly connected component of the module graph) is reported.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
ROOT = SRC / "interlace"

# From the ground up. A unit may import only units in the layers before its own.
LAYERS: list[set[str]] = [
    {"__init__", "errors", "types", "options", "observability"},
    {"message", "mapping", "formats", "scaffold"},
    {"connectors", "backends"},
    {"config"},
    # What the hub reports and tells from its store and its config: the measured gain (gain.py, which
    # the API and the CLI both serve) and the owners' notices (notify/, which the hub runs).
    {"gain", "notify"},
    {"readiness", "web"},
    {"engine"},
    # The agent (agent/): the hub's end of each agent's link, and `interlace agent` itself, which runs
    # the systems of one private network with the engine's ingress over its own SQLite buffer.
    {"entities", "testing", "agent"},
    # The hub (hub.py) assembles a running hub from a loaded config: connectors, the compiled flows
    # (entity flows included: entities/flows.py, whose sync step builds on engine/steps.py), the
    # worker and the web app. It needs both engine and entities, so it sits above them, not in engine.
    {"hub"},
    {"cli"},
]

# Upward imports (importer -> imported module) still in the code, each to be removed. The test fails
# when one not listed here appears, and when a listed one is gone (so the list only shrinks).
KNOWN_UPWARD: set[tuple[str, str]] = set()

# Import circles (sorted module names) still in the code; same rule as KNOWN_UPWARD.
KNOWN_CIRCLES: set[tuple[str, ...]] = set()


def layer_of(unit: str) -> int:
    for index, units in enumerate(LAYERS):
        if unit in units:
            return index
    raise AssertionError(f"interlace.{unit} is in no layer: add it to LAYERS in {__file__}")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def unit_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imported(module: str, path: Path, known: dict[str, Path]) -> Iterator[str]:
    """The interlace modules that `module` imports, anywhere in its file."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "interlace":
                    yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "interlace":
                continue
            for alias in node.names:
                child = f"{target}.{alias.name}"
                yield child if child in known else target
        elif isinstance(node, ast.Call | ast.Tuple | ast.List):
            named = node.args if isinstance(node, ast.Call) else node.elts
            if isinstance(node, ast.Call) and not (
                isinstance(node.func, ast.Attribute | ast.Name)
                and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
            ):
                continue
            for arg in named:
                if isinstance(arg, ast.Constant) and arg.value in known and "." in str(arg.value):
                    yield str(arg.value)


def graph() -> dict[str, set[str]]:
    known = modules()
    edges: dict[str, set[str]] = {}
    for module, path in known.items():
        targets = set()
        for target in imported(module, path, known):
            assert target in known, f"{module} imports {target}, which is not a module"
            if target != module:
                targets.add(target)
        edges[module] = targets
    return edges


def upward_imports(edges: dict[str, set[str]]) -> set[tuple[str, str]]:
    found = set()
    for module, targets in edges.items():
        for target in targets:
            source_unit, target_unit = unit_of(module), unit_of(target)
            if source_unit != target_unit and layer_of(target_unit) >= layer_of(source_unit):
                found.add((module, target))
    return found


def circles(edges: dict[str, set[str]]) -> set[tuple[str, ...]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: set[tuple[str, ...]] = set()
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.add(tuple(sorted(component)))
    return found


def test_every_unit_is_in_a_layer() -> None:
    for module in modules():
        layer_of(unit_of(module))


def test_no_new_upward_import() -> None:
    new = upward_imports(graph()) - KNOWN_UPWARD
    assert not new, "imports that point up (or sideways) the layer order:\n" + "\n".join(
        f"  {source} -> {target}" for source, target in sorted(new)
    )


def test_no_new_import_circle() -> None:
    new = circles(graph()) - KNOWN_CIRCLES
    assert not new, "modules that import each other in a circle:\n" + "\n".join(
        "  " + " <-> ".join(circle) for circle in sorted(new)
    )


def test_the_known_violations_only_shrink() -> None:
    edges = graph()
    fixed_up = KNOWN_UPWARD - upward_imports(edges)
    fixed_circles = KNOWN_CIRCLES - circles(edges)
    fixed = sorted(fixed_up) + sorted(fixed_circles)
    assert not fixed, f"fixed, so remove from the known lists in tests/test_layers.py: {fixed}"


def test_the_reader_sees_circles_and_upward_imports() -> None:
    edges = {
        "interlace.cli.main": {"interlace.cli.databases", "interlace.errors"},
        "interlace.cli.databases": {"interlace.cli.main"},
        "interlace.errors": set(),
        "interlace.formats.csv": {"interlace.connectors.base"},
        "interlace.connectors.base": {"interlace.formats.csv"},
    }
    assert circles(edges) == {
        ("interlace.cli.databases", "interlace.cli.main"),
        ("interlace.connectors.base", "interlace.formats.csv"),
    }
    assert upward_imports(edges) == {("interlace.formats.csv", "interlace.connectors.base")}
