"""Reasons and conditions are compared as enum members, never as string literals: a
renamed value must break at import, not silently stop matching (issue 14)."""

from __future__ import annotations

import ast
from pathlib import Path

from monitor.observation import Condition, Reason

ROOT = Path(__file__).resolve().parents[2]
VALUES = {m.value for m in Condition} | {m.value for m in Reason}


def _about_reason_or_condition(node: ast.expr) -> bool:
    name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")
    return name in {"reason", "condition", "why"}


def literal_comparisons(path: Path) -> list[str]:
    """Comparisons of a ``.reason`` / ``.condition`` with a string literal of one of their
    values (or a tuple of them)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Compare):
            continue
        if not any(_about_reason_or_condition(s) for s in (node.left, *node.comparators)):
            continue
        for side in (node.left, *node.comparators):
            values = [side] if isinstance(side, ast.Constant) else []
            if isinstance(side, ast.Tuple | ast.Set | ast.List):
                values = [e for e in side.elts if isinstance(e, ast.Constant)]
            for v in values:
                if isinstance(v.value, str) and v.value in VALUES:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_condition_or_reason_is_compared_as_a_string():
    modules = sorted((ROOT / "monitor").rglob("*.py")) + sorted((ROOT / "exporters").rglob("*.py"))
    found = [hit for path in modules for hit in literal_comparisons(path)]
    assert not found, "compare the enum member instead:\n" + "\n".join(found)
