"""The package's layout rules: no import cycle between modules or between packages, and
the lower layers never reach up (the pipeline reads top to bottom).

Imports are read with ``ast`` (including those inside functions and under
``TYPE_CHECKING``), so a lazy import cannot hide a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "robustsnn"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(module: str, path: Path, level: int, target: str | None) -> str:
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    base = package.split(".")
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def import_graph() -> dict[str, set[str]]:
    """module -> the robustsnn modules it imports (a package import counts as its __init__)."""
    modules = _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom):
                base = (_resolve(module, path, node.level, node.module) if node.level
                        else node.module or "")
                submodules = [f"{base}.{alias.name}" for alias in node.names]
                targets += submodules
                # ``from . import artifacts`` imports the submodule, like ``from .artifacts
                # import X``; the package's __init__ counts when a name is read from it.
                if not all(s in modules for s in submodules):
                    targets.append(base)
            elif isinstance(node, ast.Import):
                targets += [alias.name for alias in node.names]
            for target in targets:
                if target in modules and target != module:
                    graph[module].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _package(module: str) -> str:
    """robustsnn.campaign.runner -> robustsnn.attack; top-level modules stand for themselves."""
    parts = module.split(".")
    return ".".join(parts[:2])


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, targets in import_graph().items():
        source = _package(module)
        graph.setdefault(source, set())
        graph[source] |= {_package(t) for t in targets if _package(t) != source}
    return graph


def test_the_graph_sees_real_imports():
    graph = import_graph()
    # Guards against a parser that silently finds nothing (then "no cycles" would hold trivially).
    assert "robustsnn.attack.recipes" in graph["robustsnn.campaign.runner"]
    assert "robustsnn.resources.offline" in graph["robustsnn.attack.recipe_builders"]
    assert "robustsnn.errors" in graph["robustsnn.config"]


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle_between_modules():
    assert _cycles(import_graph()) == []


def test_no_import_cycle_between_packages():
    assert _cycles(package_graph()) == []


# Lower layers never import higher ones: the pipeline reads top to bottom.
_TOP = {"robustsnn.cli", "robustsnn.reports"}
# attack/ builds attacks, campaign/ runs them, records/ is what runs leave (logs, identity,
# metrics), analysis/ reads them: each reaches only down this list.
_RUNNING = {"robustsnn.attack", "robustsnn.campaign", "robustsnn.analysis"}
FORBIDDEN = {
    "robustsnn.defenses": {*_RUNNING, "robustsnn.records", *_TOP, "robustsnn.train"},
    "robustsnn.resources": {*_RUNNING, "robustsnn.records", "robustsnn.defenses", *_TOP, "robustsnn.train",
                            "robustsnn.models"},
    "robustsnn.models": {*_RUNNING, "robustsnn.records", "robustsnn.defenses", *_TOP, "robustsnn.train",
                         "robustsnn.resources"},
    "robustsnn.data": {*_RUNNING, "robustsnn.records", "robustsnn.defenses", *_TOP, "robustsnn.train",
                       "robustsnn.models", "robustsnn.resources"},
    "robustsnn.train": {*_RUNNING, "robustsnn.records", "robustsnn.defenses", *_TOP},
    # Light: no torch, no TextAttack, nothing that runs a model.
    "robustsnn.records": {*_RUNNING, *_TOP, "robustsnn.train", "robustsnn.models", "robustsnn.defenses",
                          "robustsnn.resources"},
    "robustsnn.attack": {"robustsnn.campaign", "robustsnn.analysis", *_TOP},
    "robustsnn.campaign": {"robustsnn.analysis", *_TOP},
    "robustsnn.analysis": _TOP,
    "robustsnn.reports": {"robustsnn.cli"},
}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_lower_layers_do_not_import_higher_ones(package):
    imported = package_graph()[package]
    assert not imported & FORBIDDEN[package], sorted(imported & FORBIDDEN[package])
