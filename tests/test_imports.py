"""The project's modules import one another without a cycle, and each layer imports only
what lies beneath it: read from the source with ``ast``, no module is imported. An import
inside a function counts like any other: deferring an import hides a cycle, it does not
remove it."""

from __future__ import annotations

import ast
import graphlib
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("domain", "application", "projections", "interface", "bench", "tests")

#: What each layer may not import (tests and the benchmark import anything).
FORBIDDEN = {
    "domain": {"application", "projections", "interface", "bench", "tests"},
    "application": {"interface", "bench", "tests"},
    "projections": {"interface", "bench", "tests"},
    "interface": {"bench", "tests"},
}

#: Known cycles, by the import that closes them, each to be removed rather than added to.
KNOWN_CYCLES: set[tuple[str, str]] = set()


def modules() -> dict[str, Path]:
    """Every module of the project by its dotted name (a package by its own)."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def _known(name: str, known: set[str]) -> str | None:
    """The project module ``name`` names, or the closest package holding it."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules a module imports, wherever in it (lazy imports included)."""
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            module = _known(target, known)
            if module is not None and module != name:
                found.add(module)
    return found


@cache
def _import_graph() -> dict[str, frozenset[str]]:
    found = modules()
    known = set(found)
    return {name: frozenset(imports_of(name, path, known)) for name, path in found.items()}


def import_graph() -> dict[str, set[str]]:
    """Each module of the project, and the project modules it imports."""
    return {name: set(imported) for name, imported in _import_graph().items()}


def test_no_module_imports_itself_through_others() -> None:
    graph = import_graph()
    assert len(graph) > 100  # the walk found the project
    for module, imported in KNOWN_CYCLES:
        assert imported in graph[module], f"{module} no longer imports {imported}: forget it"
        graph[module] = graph[module] - {imported}
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as cycle:
        raise AssertionError(f"import cycle: {' -> '.join(cycle.args[1])}") from None


def test_each_layer_imports_only_what_lies_beneath_it() -> None:
    wrong = sorted(
        (module, imported)
        for module, imported_modules in import_graph().items()
        for imported in imported_modules
        if imported.partition(".")[0] in FORBIDDEN.get(module.partition(".")[0], set())
    )
    assert wrong == []
