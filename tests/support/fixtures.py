"""Reading recorded and hand-written fixtures, and checking a parser against their goldens
(one place for what every parser's tests and ``python -m tests.regen_golden`` do with
``tests/fixtures``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from monitor.errors import ParseError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
GOLDEN_SUFFIX = ".parsed.json"


def is_stdout_fixture(path: Path) -> bool:
    """A recorded or written stdout: ``.txt`` or ``.json``, but no golden and no meta file."""
    name = path.name
    if name.endswith(GOLDEN_SUFFIX) or name.endswith(".meta.json"):
        return False
    return path.is_file() and path.suffix in (".txt", ".json")


def golden_path(fixture: Path) -> Path:
    return fixture.with_name(fixture.name + GOLDEN_SUFFIX)


def stdout_fixtures(kind: str) -> list[Path]:
    directory = FIXTURES / kind
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if is_stdout_fixture(p))


def render(document: dict) -> str:
    """The golden text: the document as ``slurm-sla parse`` prints it, plus a newline."""
    return json.dumps(document, indent=2) + "\n"


def read_fixture(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def fixture_meta(path: Path) -> dict | None:
    """The recording's ``.meta.json`` (argv, returncode, duration...), None if hand-written."""
    meta = path.with_name(path.name.rsplit(".", 1)[0] + ".meta.json")
    return json.loads(meta.read_text()) if meta.exists() else None


def assert_matches_golden(fixture: Path, parse: Callable[[str], Any]) -> None:
    """The parsed document equals the golden; only a recording of a failed command may
    lack a golden, and then it must not parse."""
    golden = golden_path(fixture)
    if golden.exists():
        assert render(parse(read_fixture(fixture)).to_dict()) == golden.read_text(encoding="utf-8")
        return
    assert fixture_meta(fixture) is not None, "hand-written fixtures must have a golden"
    try:
        parse(read_fixture(fixture))
    except ParseError:
        return
    pytest.fail(f"{fixture.name} parses but has no golden: python -m tests.regen_golden")
