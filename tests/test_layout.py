"""The package's import graph: no module-level cycle, and the demo sits on top (issue 9, 11).

The graph is read from the source (``ast``), so a test run's import order cannot hide an
edge. A module-level edge is an import statement that runs when the module is imported: at
the top, or in a top-level ``if``/``try``/class body, but not under ``if TYPE_CHECKING:`` and
not inside a function. A deferred edge (an import inside a function) counts for the second
test only.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "incident_kit"


def _modules() -> dict[str, Path]:
    mods = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        mods[".".join(parts)] = path
    return mods


def _imports(tree: ast.Module, *, deferred: bool) -> Iterator[ast.Import | ast.ImportFrom]:
    stack: list[ast.AST] = [
        node
        for node in tree.body
        if not (isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test))
    ]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) and not deferred:
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def graph(*, deferred: bool) -> dict[str, set[str]]:
    """Each incident_kit module → the incident_kit modules it imports."""
    mods = _modules()
    edges: dict[str, set[str]] = {}
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        for node in _imports(ast.parse(path.read_text(encoding="utf-8")), deferred=deferred):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join([*up, *([node.module] if node.module else [])])
                targets = [
                    f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names
                ]
            found.update(t for t in targets if t in mods and t != name)
        edges[name] = found
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
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

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_the_graph_reader_sees_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    edges = graph(deferred=False)
    assert "incident_kit.live" in edges["incident_kit.demo"]
    assert "incident_kit.cli.state" in edges["incident_kit.cli.lifecycle"]
    # live imports messages inside functions only: a deferred edge only
    assert "incident_kit.messages" not in edges["incident_kit.live"]
    assert "incident_kit.messages" in graph(deferred=True)["incident_kit.live"]


def test_no_module_level_import_cycle() -> None:
    assert cycles(graph(deferred=False)) == []


def test_the_demo_is_imported_by_nothing_below_it() -> None:
    """core → demo → live → core went (issue 9, item 11): the demo plays the example through
    the live commands and renders it with the core, so neither may reach back to it, not even
    from inside a function."""
    edges = graph(deferred=True)
    importers = sorted(name for name, deps in edges.items() if "incident_kit.demo" in deps)
    assert all(name.startswith("incident_kit.cli") for name in importers), importers
    assert not any("incident_kit.demo" in c for c in cycles(edges))


def test_each_command_is_found_in_its_module() -> None:
    """The group imports a command's module only when the command runs (cli.ELSEWHERE says
    which module, else `lifecycle`): every module registers exactly the commands named."""
    import importlib

    import click

    from incident_kit import cli

    for module in cli.MODULES:
        group = click.Group()
        importlib.import_module(f"incident_kit.cli.{module}").register(group)
        expected = {n for n in cli.ORDER if cli.ELSEWHERE.get(n, "lifecycle") == module}
        assert set(group.commands) == expected, module
