"""The graph of imports between the modules of ``monitor/`` and ``exporters/``, read with ``ast``.

Every import counts wherever it is written: at module level, inside a function, under
``if TYPE_CHECKING:``, and ``importlib.import_module("...")`` with a literal name (or an
f-string, read as every module its literal prefix can name). A function-level import only
delays a cycle to the first call; it does not remove it.

Packages: importing ``a.b.c`` runs ``a/__init__`` and ``a/b/__init__`` first, so an importer of
``a.b.c`` also depends on those two. The exception is the importer's own enclosing packages:
Python has started them before the importer's first line runs, so ``a/b/x.py`` importing
``a.b.c`` does not depend on ``a/b/__init__`` (unless it imports ``a.b`` itself, e.g.
``from a.b import name`` for a name that is not a submodule).
"""

from __future__ import annotations

import ast
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ROOTS = ("monitor", "exporters")


@dataclass(frozen=True)
class Edge:
    """One import: ``source`` needs ``target``; where it is written and whether it runs late."""

    source: str
    target: str
    path: str
    line: int
    in_function: bool

    def describe(self) -> str:
        late = ", in a function" if self.in_function else ""
        return f"{self.path}:{self.line}{late}"


def module_files(repo: Path = REPO) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` under the roots (packages by ``__init__``)."""
    files: dict[str, Path] = {}
    for root in ROOTS:
        for path in sorted((repo / root).rglob("*.py")):
            parts = list(path.relative_to(repo).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            files[".".join(parts)] = path
    return files


def _is_package(name: str, files: dict[str, Path]) -> bool:
    return files[name].name == "__init__.py"


def _ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _resolve_relative(module: str, level: int, name: str | None, files: dict[str, Path]) -> str:
    package = module if _is_package(module, files) else module.rpartition(".")[0]
    for _ in range(level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{name}" if name else package


def _in_functions(tree: ast.AST) -> set[int]:
    """ids of the import nodes written inside a function (they run at call time)."""
    late: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            late.update(id(inner) for inner in ast.walk(node) if inner is not node)
    return late


def _dynamic_names(call: ast.Call, files: dict[str, Path]) -> list[str]:
    """Modules an ``import_module(...)``/``__import__(...)`` call can load."""
    func = call.func
    called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if called not in ("import_module", "__import__") or not call.args:
        return []
    arg = call.args[0]
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return [arg.value]
    if isinstance(arg, ast.JoinedStr) and arg.values and isinstance(arg.values[0], ast.Constant):
        prefix = str(arg.values[0].value)
        return [name for name in files if name.startswith(prefix) and name != prefix.rstrip(".")]
    return []


def _targets(module: str, node: ast.AST, files: dict[str, Path]) -> list[str]:
    """The in-scope modules one import node names (before adding enclosing packages)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        base = (
            _resolve_relative(module, node.level, node.module, files)
            if node.level
            else node.module or ""
        )
        found = []
        for alias in node.names:
            sub = f"{base}.{alias.name}"
            if sub in files:
                found.append(sub)  # `from pkg import submodule`
            else:
                found.append(base)  # `from pkg import name` runs pkg (and `*` too)
        return found
    if isinstance(node, ast.Call):
        return _dynamic_names(node, files)
    return []


def _expand(module: str, target: str, files: dict[str, Path]) -> list[str]:
    """``target`` plus the enclosing packages it runs that ``module`` has not already started."""
    own = set(_ancestors(module))
    chain = [name for name in _ancestors(target) if name not in own]
    names = [*chain, target]
    return [name for name in names if name in files and name != module]


@cache
def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imports_of(module: str, files: dict[str, Path], repo: Path = REPO) -> list[Edge]:
    path = files[module]
    tree = _parse(path)
    late = _in_functions(tree)
    rel = str(path.relative_to(repo))
    edges: list[Edge] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Import | ast.ImportFrom | ast.Call):
            continue
        for target in _targets(module, node, files):
            for name in _expand(module, target, files):
                edges.append(Edge(module, name, rel, node.lineno, id(node) in late))
    return edges


def raw_imports(module: str, files: dict[str, Path]) -> list[tuple[str, int]]:
    """Every absolute name ``module`` imports, in scope or not (to find ``tests`` imports)."""
    tree = _parse(files[module])
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            name = (
                _resolve_relative(module, node.level, node.module, files)
                if node.level
                else node.module or ""
            )
            found.append((name, node.lineno))
        elif isinstance(node, ast.Call):
            found += [(name, node.lineno) for name in _dynamic_names(node, files)]
    return found


@dataclass(frozen=True)
class Graph:
    edges: dict[str, dict[str, Edge]]  # source -> target -> first edge seen

    @classmethod
    def build(cls, repo: Path = REPO) -> Graph:
        files = module_files(repo)
        edges: dict[str, dict[str, Edge]] = {name: {} for name in files}
        for module in files:
            for edge in imports_of(module, files, repo):
                # Prefer a module-level edge as the witness: it is the one that runs first.
                known = edges[module].get(edge.target)
                if known is None or (known.in_function and not edge.in_function):
                    edges[module][edge.target] = edge
        return cls(edges)

    def components(self) -> list[list[str]]:
        """Strongly connected components with a cycle in them (Tarjan, iterative)."""
        index: dict[str, int] = {}
        low: dict[str, int] = {}
        on_stack: set[str] = set()
        stack: list[str] = []
        found: list[list[str]] = []
        counter = 0
        for root in sorted(self.edges):
            if root in index:
                continue
            work = [(root, iter(sorted(self.edges[root])))]
            index[root] = low[root] = counter
            counter += 1
            stack.append(root)
            on_stack.add(root)
            while work:
                node, children = work[-1]
                advanced = False
                for child in children:
                    if child not in index:
                        index[child] = low[child] = counter
                        counter += 1
                        stack.append(child)
                        on_stack.add(child)
                        work.append((child, iter(sorted(self.edges[child]))))
                        advanced = True
                        break
                    if child in on_stack:
                        low[node] = min(low[node], index[child])
                if advanced:
                    continue
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    members = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        members.append(member)
                        if member == node:
                            break
                    if len(members) > 1 or node in self.edges[node]:
                        found.append(sorted(members))
        return found

    def shortest_cycle_through(self, start: str, within: Iterable[str]) -> list[str]:
        """The shortest ``start -> ... -> start`` path inside one component (BFS)."""
        allowed = set(within)
        previous: dict[str, str] = {}
        queue = deque([start])
        seen = {start}
        while queue:
            node = queue.popleft()
            for child in sorted(self.edges[node]):
                if child not in allowed:
                    continue
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [*reversed(path), start]
                if child not in seen:
                    seen.add(child)
                    previous[child] = node
                    queue.append(child)
        return []

    def cycles(self) -> list[list[str]]:
        """Per component, the shortest cycle through each member, each once, shortest first."""
        result: list[list[str]] = []
        seen: set[tuple[str, ...]] = set()
        for members in self.components():
            for start in members:
                cycle = self.shortest_cycle_through(start, members)
                body = cycle[:-1]
                pivot = body.index(min(body))
                key = tuple(body[pivot:] + body[:pivot])
                if key not in seen:
                    seen.add(key)
                    result.append([*key, key[0]])
        return sorted(result, key=lambda cycle: (len(cycle), cycle))

    def describe(self, cycle: list[str]) -> str:
        hops = [
            f"{source} -> {target} ({self.edges[source][target].describe()})"
            for source, target in zip(cycle, cycle[1:], strict=False)
        ]
        return "\n    ".join(hops)
