"""Commands and files quoted in README.md, read from it so tests run what users copy."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def section(title: str) -> str:
    """The text of the ``## title`` section, up to the next ``## `` heading."""
    text = README.read_text()
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    if match is None:
        raise AssertionError(f"README.md has no section '## {title}'")
    return match.group(1)


def code_blocks(text: str, lang: str) -> list[str]:
    """The fenced ``lang`` blocks of ``text``, each without its fences."""
    return re.findall(rf"^```{lang}\n(.*?)^```", text, re.M | re.S)


def two_commands() -> tuple[str, str]:
    """The demo command and the test-suite command, as one line each."""
    blocks = [b.strip() for b in code_blocks(section("Two commands"), "sh")]
    assert len(blocks) == 2 and all("\n" not in b for b in blocks), blocks
    return blocks[0], blocks[1]
