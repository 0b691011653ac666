"""The package's shape: imports between its modules point one way (no module imports, at its top or
inside a function, a module that imports it back, directly or through others)."""

from __future__ import annotations

import ast
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "stencilgen"


def _modules() -> dict[str, tuple[str, bool]]:
    """Every module of the package by dotted name: its file, and whether it is a package's __init__."""
    out = {}
    for folder, _dirs, files in os.walk(os.path.join(ROOT, PACKAGE)):
        for f in files:
            if f.endswith(".py"):
                parts = os.path.relpath(os.path.join(folder, f), ROOT)[:-3].split(os.sep)
                init = parts[-1] == "__init__"
                out[".".join(parts[:-1] if init else parts)] = (os.path.join(folder, f), init)
    return out


def _is_type_checking(test: ast.expr) -> bool:
    """`if TYPE_CHECKING:` (or `typing.TYPE_CHECKING`): imports for the type checker, never run."""
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports when it runs, anywhere in its text (imports for the
    type checker alone are left out). `from . import x` is an import
    of module x where there is one, else of the package (x is a name its __init__ gives). Importing a
    submodule runs its package's __init__ first; that implicit import is left out, as every package's
    __init__ imports from its own submodules."""
    modules = _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, (path, init) in modules.items():
        package = name if init else name.rsplit(".", 1)[0]
        with open(path, encoding="utf-8") as fh:
            tree = ast.parse(fh.read(), path)
        typing_only = {
            id(inner)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and _is_type_checking(node.test)
            for stmt in node.body
            for inner in ast.walk(stmt)
        }
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join(up + ([node.module] if node.module else []))
                for a in node.names:
                    sub = f"{base}.{a.name}"
                    targets.append(sub if sub in modules else base)
            for t in targets:
                while t not in modules and "." in t:
                    t = t.rsplit(".", 1)[0]
                if t in modules and t != name:
                    graph[name].add(t)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of two or more modules that reach each other (strongly connected components)."""
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        order[v] = low[v] = len(order)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in order:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], order[w])
        if low[v] == order[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in order:
            visit(v)
    return found


def test_the_graph_sees_the_imports_it_should() -> None:
    """Top-level, function-level and relative imports, and `from . import module` of a subpackage;
    not those under `if TYPE_CHECKING:`."""
    graph = import_graph()
    assert "stencilgen.rules" not in graph["stencilgen.physics"]  # (physics names Rules in annotations)
    assert "stencilgen.model" in graph["stencilgen.geometry"]  # from .model import ...
    assert "stencilgen.readers.gds" in graph["stencilgen.readers"]  # from .gds import read_gds
    assert "stencilgen.geometry" in graph["stencilgen.readers.stencil"]  # inside a function: from ..geometry
    assert not cycles({"a": {"b"}, "b": {"c"}, "c": set()})
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles() -> None:
    graph = import_graph()
    found = cycles(graph)
    detail = [
        " <-> ".join(group) + ": " + "; ".join(f"{m} -> {sorted(graph[m] & set(group))}" for m in group)
        for group in found
    ]
    assert not found, detail


def _reaches(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in graph.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_the_checks_and_the_physics_do_not_import_the_planner():
    """The checks judge stencils drawn elsewhere too: nothing they import reaches the planner."""
    graph = import_graph()
    for module in ("stencilgen.checks", "stencilgen.physics"):
        assert not {m for m in _reaches(graph, module) if m.startswith("stencilgen.planner")}, module
