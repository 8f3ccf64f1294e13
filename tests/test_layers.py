"""The import contract: the package's layers import one way, with no circle and no hidden import.

import-linter (`lint-imports`, the contracts in pyproject.toml) proves the layers; it cannot see
imports inside functions or under TYPE_CHECKING as separate facts, so this test reads every
module's syntax tree and counts them all: an import inside a function hides an arrow against the
layers (round 2's spec.py imported the checks that way), and a circle through TYPE_CHECKING is a
circle a reader still has to untangle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "conformance"
# The layers, lowest first (ARCHITECTURE.md); servers stand apart and import nothing of the package.
LAYERS = ("model", "target", "checks", "engine", "report", "pytest_plugin", "tools")
# The CLI's dispatch imports each command's modules when that command runs (pytest must be imported
# before anything that loads a pytest plugin's package, and `profiles` should stay quick).
INNER_IMPORTS_ALLOWED = {"conformance.tools.cli"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _imports(name: str) -> list[tuple[str, int, bool]]:
    """(imported module of the package, line, inside a function) for every import in `name`."""
    path = MODULES[name]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    inner = {
        id(node)
        for fn in ast.walk(tree)
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef)
        for node in ast.walk(fn)
    }
    found: list[tuple[str, int, bool]] = []
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.ImportFrom):
            base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
            module = (
                ".".join(base[: len(base) - node.level + 1] + ([node.module] if node.module else []))
                if node.level
                else node.module or ""
            )
            targets = [f"{module}.{a.name}" if f"{module}.{a.name}" in MODULES else module for a in node.names]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        line = getattr(node, "lineno", 0)
        found += [(t, line, id(node) in inner) for t in targets if t in MODULES and t != name]
    return found


GRAPH = {name: _imports(name) for name in MODULES}


def _layer(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in (*LAYERS, "servers") else None


def test_no_module_imports_the_package_inside_a_function() -> None:
    hidden = [
        f"{name}:{line} imports {target}"
        for name, imports in GRAPH.items()
        if name not in INNER_IMPORTS_ALLOWED
        for target, line, inner in imports
        if inner
    ]
    assert hidden == []


def test_every_import_points_down_the_layers() -> None:
    against = []
    for name, imports in GRAPH.items():
        mine = _layer(name)
        for target, line, _ in imports:
            theirs = _layer(target)
            if mine is None or theirs is None or mine == theirs:
                continue
            if mine == "servers" or (theirs == "servers" and mine != "engine"):
                against.append(f"{name}:{line} imports {target} (only the engine may start the servers)")
            elif theirs != "servers" and LAYERS.index(theirs) > LAYERS.index(mine):
                against.append(f"{name}:{line} imports {target}, a layer above it")
    assert against == []


def test_no_import_circle() -> None:
    """Tarjan's strongly connected components over every import, TYPE_CHECKING and inner ones included."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target, _, _ in GRAPH[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for name in GRAPH:
        if name not in index:
            visit(name)
    assert circles == []


def test_import_linter_contracts_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    """The contracts in pyproject.toml, as `lint-imports` (tox -e lint) checks them."""
    cli = pytest.importorskip("importlinter.cli")
    monkeypatch.chdir(PACKAGE.parent)
    assert cli.lint_imports() == 0


def test_the_package_has_its_public_api_and_types() -> None:
    import conformance

    assert (PACKAGE / "py.typed").is_file()
    missing = [name for name in conformance.__all__ if not hasattr(conformance, name)]
    assert missing == []
