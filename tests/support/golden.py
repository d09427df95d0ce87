"""Golden files: compared byte for byte; regenerate with ``REGEN_GOLDEN=1 pytest ...``."""

from __future__ import annotations

import os
from pathlib import Path


def assert_golden(path: Path, text: str) -> None:
    if os.environ.get("REGEN_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"{path} missing: run with REGEN_GOLDEN=1 to create it"
    assert text == path.read_text(), f"{path} differs: review, then REGEN_GOLDEN=1 to accept"
