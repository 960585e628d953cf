"""The layering of ../shared/DESIGN.md and docs/architecture.md, checked on the source."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "recsys"


def _room(module: str) -> str:
    """The layer a module belongs to: ``recsys.models.als`` -> ``models``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "recsys"


def _imports(top_level_only: bool = False) -> dict[str, set[str]]:
    """Every recsys module each source file imports: at any depth (lazy imports included),
    or only in statements run at import time."""
    found: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        module = module.removesuffix(".__init__")
        names: set[str] = set()
        tree = ast.parse(path.read_text(), str(path))
        nodes = _top_level(tree) if top_level_only else ast.walk(tree)
        for node in nodes:
            if isinstance(node, ast.Import):
                names |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
                names |= {f"{node.module}.{alias.name}" for alias in node.names}
        found[module] = {n for n in names if n == "recsys" or n.startswith("recsys.")}
    return found


def _top_level(tree: ast.Module) -> list[ast.AST]:
    """The statements run when the module is imported (conditionals included, bodies of
    functions and classes' methods not)."""
    out: list[ast.AST] = []
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        out.append(node)
        if isinstance(node, (ast.If, ast.Try, ast.With, ast.ClassDef)):
            pending.extend(ast.iter_child_nodes(node))
    return out


IMPORTS = _imports()
IMPORT_TIME = _imports(top_level_only=True)


def _room_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for module, names in IMPORTS.items():
        for name in names:
            if name != "recsys" and _room(name) != _room(module):
                graph[_room(module)].add(_room(name))
    return graph


def test_nothing_inside_imports_the_top_level_package():
    offenders = sorted(m for m, names in IMPORTS.items() if "recsys" in names
                       and m != "recsys")
    assert not offenders, f"import recsys's submodules, not the package: {offenders}"


@pytest.mark.parametrize("low, high", [
    ("models", "evaluation"), ("models", "serving"), ("models", "cli"),
    ("ranking", "models"), ("ranking", "evaluation"), ("ranking", "serving"),
    ("data", "models"), ("data", "ranking"), ("data", "evaluation"), ("data", "serving"),
    ("evaluation", "serving"), ("evaluation", "cli"),
    # The splitters sit beside the loaders: models may use them (a Hybrid carves its own
    # validation split), never the other way round.
    ("split", "models"), ("split", "ranking"), ("split", "evaluation"), ("ranking", "split"),
])
def test_lower_layers_never_import_higher_ones(low, high):
    offenders = sorted(m for m, names in IMPORTS.items() if _room(m) == low
                       and any(_room(n) == high for n in names))
    assert not offenders, f"{low} must not import {high}: {offenders}"


def test_no_cycle_between_packages():
    graph = _room_graph()
    state: dict[str, int] = {}

    def visit(room: str, path: list[str]) -> None:
        state[room] = 1
        for other in sorted(graph.get(room, ())):
            assert state.get(other) != 1, f"import cycle: {' -> '.join(path + [other])}"
            if other not in state:
                visit(other, path + [other])
        state[room] = 2

    for room in sorted(graph):
        if room not in state:
            visit(room, [room])


def test_no_cycle_between_modules_of_a_package():
    # Modules of one package may not import each other both ways at import time (a lazy
    # import inside a function is how a helper module reaches back, e.g. the streaming
    # Parquet reader and Interactions).
    def related(a: str, b: str) -> bool:  # a package and its own submodules
        return a.startswith(b + ".") or b.startswith(a + ".")

    pairs = sorted({tuple(sorted((m, n))) for m, names in IMPORT_TIME.items() for n in names
                    if n in IMPORT_TIME and m in IMPORT_TIME[n] and m != n
                    and not related(m, n)})
    assert not pairs, f"modules importing each other: {pairs}"
