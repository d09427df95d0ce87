"""`promtool check metrics` prints nothing for our exposition (Debian's prometheus package)."""

from __future__ import annotations

import subprocess

import pytest

from tests.support.debian import ensure_packages
from tests.support.snapshots import failover_snapshot, render

pytestmark = pytest.mark.integration


def test_promtool_accepts_our_exposition():
    ensure_packages("prometheus", binary="promtool")
    text = render(failover_snapshot())
    result = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == "", result.stdout + result.stderr
