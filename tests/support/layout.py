"""Who may import whom under ``tests/``, read with ``ast``.

Test modules are what pytest collects: a test module importing another one runs the other's
module body twice over and collects its imported tests a second time, and the helper it wanted
hides among tests. Shared helpers therefore live in ``tests/support/``, which imports only the
code under test and other support (``tests.cluster`` is the real lab's own support package).

Every import counts wherever it is written (module level, inside a function, under ``if``),
and so does ``importlib.import_module("...")`` with a literal name.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# What a module of tests/support may import from this repository (anything else of ours,
# e.g. tests.unit or bench, is a test or a user of the tests, never a helper's dependency).
SUPPORT_MAY_IMPORT = ("monitor", "exporters", "tests.support", "tests.cluster")


@dataclass(frozen=True)
class Import:
    """One import written in ``path`` at ``line``: the module it names, fully dotted."""

    path: str
    line: int
    target: str

    def describe(self) -> str:
        return f"{self.path}:{self.line} imports {self.target}"


def module_name(path: Path, repo: Path = REPO) -> str:
    parts = list(path.relative_to(repo).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _package_of(path: Path, repo: Path) -> str:
    name = module_name(path, repo)
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def _targets(node: ast.AST, path: Path, repo: Path) -> Iterator[str]:
    """The modules ``node`` loads: for ``from a import b``, ``a``, and ``a.b`` too when ``a``
    is one of our packages (``b`` may be its submodule)."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            package = _package_of(path, repo)
            for _ in range(node.level - 1):
                package = package.rpartition(".")[0]
            base = f"{package}.{base}" if base else package
        yield base
        if (repo / base.replace(".", "/")).is_dir():  # a package: the names may be modules
            yield from (f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    elif (
        isinstance(node, ast.Call)
        and (getattr(node.func, "attr", None) or getattr(node.func, "id", None))
        in ("import_module", "__import__")
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        yield node.args[0].value


def imports_in(path: Path, repo: Path = REPO) -> list[Import]:
    tree = ast.parse(path.read_text(), filename=str(path))
    where = str(path.relative_to(repo))
    return [
        Import(where, node.lineno, target)
        for node in ast.walk(tree)
        for target in _targets(node, path, repo)
    ]


def imports_of_test_modules(root: Path, repo: Path = REPO) -> list[Import]:
    """Every import under ``root`` of a module whose name starts with ``test_``."""
    return [
        imp
        for path in sorted(root.rglob("*.py"))
        for imp in imports_in(path, repo)
        if any(part.startswith("test_") for part in imp.target.split("."))
    ]


def first_party(repo: Path = REPO) -> set[str]:
    """The top-level names this repository defines (packages and loose modules)."""
    names = {p.name for p in repo.iterdir() if (p / "__init__.py").is_file()}
    names |= {p.stem for p in repo.glob("*.py")}
    return names | {"monitor", "exporters", "tests"}


def support_overreach(support: Path, repo: Path = REPO) -> list[Import]:
    """Imports in ``support`` of our own modules other than those SUPPORT_MAY_IMPORT."""
    ours = first_party(repo)
    return [
        imp
        for path in sorted(support.rglob("*.py"))
        for imp in imports_in(path, repo)
        if imp.target.split(".")[0] in ours
        and not any(imp.target == a or imp.target.startswith(a + ".") for a in SUPPORT_MAY_IMPORT)
    ]


def helpers_named_like_tests(root: Path, repo: Path = REPO) -> list[str]:
    """``test_*.py`` files under ``root`` that define no test at module level (a function
    ``test*`` or a class ``Test*``): helpers that pytest collects and that others import."""
    found = []
    for path in sorted(root.rglob("test_*.py")):
        body = ast.parse(path.read_text(), filename=str(path)).body
        if not any(
            (isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name.startswith("test"))
            or (isinstance(n, ast.ClassDef) and n.name.startswith("Test"))
            for n in body
        ):
            found.append(str(path.relative_to(repo)))
    return found
