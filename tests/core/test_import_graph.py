"""The packages of `core` import each other without cycles (every import statement counts, those inside
functions and under TYPE_CHECKING too), and nothing in `core` imports the app's outer layers."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUTER = ("ui", "bench", "recipes", "tests", "app")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> list[tuple[str, int]]:
    """(module, line) of every import statement in the file, relative ones resolved."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            # `from core import settings` imports core.settings: each name may be a module of its own
            out += [(f"{module}.{a.name}", node.lineno) for a in node.names]
    return out


def unit(module: str) -> str | None:
    """The core package (or top-level core module) a module belongs to: core.model.loader -> core.model."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "core" and len(parts) > 1 else None


def package_graph() -> dict[str, dict[str, list[str]]]:
    """unit -> imported unit -> where ("core/x/y.py:12")."""
    graph: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in sorted((ROOT / "core").rglob("*.py")):
        src = unit(module_name(path))
        for module, line in imported(path):
            dst = unit(module)
            if src and dst and dst != src:
                graph[src][dst].append(f"{path.relative_to(ROOT)}:{line}")
    return graph


def cycles(graph: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    """The strongly connected components with more than one unit (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle_between_core_packages():
    graph = package_graph()
    assert "core.policy" in graph and "core.model" in graph["core.policy"]  # the graph sees real imports
    found = cycles(graph)
    where = [f"{a} -> {b}: {', '.join(graph[a][b][:3])}" for comp in found for a in comp for b in graph[a] if b in comp]
    assert not found, "import cycles between core packages:\n" + "\n".join(where)


def test_the_cycle_finder_finds_a_cycle():
    g = {"core.a": {"core.b": ["x"]}, "core.b": {"core.c": ["y"]}, "core.c": {"core.a": ["z"]}, "core.d": {"core.a": ["w"]}}
    assert cycles(g) == [["core.a", "core.b", "core.c"]]
    assert cycles({"core.a": {"core.b": ["x"]}}) == []


def test_function_level_and_relative_imports_are_counted():
    f = ROOT / "core" / "policy" / "vlm.py"
    modules = [m for m, _ in imported(f)]
    assert "core.model.worker.run" in modules and "core.policy.grounding.sim_grounder" in modules  # one inside a method
    cache = [m for m, _ in imported(ROOT / "core" / "model" / "cache.py")]
    assert "core.settings" in cache and unit("core.settings") == "core.settings"  # `from core import settings`


def test_core_imports_none_of_the_outer_layers():
    bad = [f"{path.relative_to(ROOT)}:{line} imports {module}"
           for path in sorted((ROOT / "core").rglob("*.py")) for module, line in imported(path)
           if module.split(".")[0] in OUTER]
    assert not bad, "\n".join(bad)
