"""The house: no import circles inside notsofar, and the library never imports the CLI.

Read with the stdlib ``ast``, so nothing is imported and every import counts: module level,
inside functions (the lazy imports that keep ``--help`` fast) and ``importlib.import_module``
with a literal name. Imports under ``if TYPE_CHECKING:`` never run and are left out.
"""

from __future__ import annotations

import ast
from pathlib import Path

import notsofar

ROOT = Path(notsofar.__file__).parent


def _modules() -> dict[str, Path]:
    mods = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        mods[".".join(parts)] = path
    return mods


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING"
    )


def _imported_names(tree: ast.AST, package: str) -> list[str]:
    names: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            names.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            # ``from a import b``: the module ``a.b`` when there is one, else ``a`` (resolved below)
            names.extend(f"{base}.{a.name}" for a in node.names)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.append(node.args[0].value)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return names


def import_graph() -> dict[str, set[str]]:
    """Module -> the notsofar modules it imports (``from a import b`` is ``a.b`` when that is a
    module, else ``a``); a package's own ``__init__`` is not an edge of its submodules."""
    mods = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges = set()
        for target in _imported_names(ast.parse(path.read_text(encoding="utf-8")), package):
            if target.split(".")[0] != "notsofar":
                continue
            while target and target not in mods:
                target = target.rpartition(".")[0]
            if target and target != name:
                edges.add(target)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def test_graph_sees_lazy_and_importlib_imports():
    graph = import_graph()
    assert "notsofar.pipeline.models" in graph["notsofar.pipeline.batch"]  # inside a function
    assert "notsofar.enhance.pipeline" in graph["notsofar.pipeline"]  # importlib, literal name
    assert "notsofar.pipeline.source" not in graph["notsofar.pipeline.single"]  # TYPE_CHECKING
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles():
    found = cycles(import_graph())
    assert not found, "import circles: " + "; ".join(" <-> ".join(c) for c in found)


def test_library_never_imports_the_cli():
    bad = [
        f"{mod} -> {target}"
        for mod, targets in import_graph().items()
        if not mod.startswith("notsofar.cli")
        for target in targets
        if target == "notsofar.cli" or target.startswith("notsofar.cli.")
    ]
    assert not bad, "library modules import the CLI: " + ", ".join(bad)


def test_separation_backend_names_match_the_registry():
    from notsofar.enhance.config import SEPARATION_BACKENDS
    from notsofar.enhance.separation import BACKENDS

    assert set(SEPARATION_BACKENDS) == set(BACKENDS)
