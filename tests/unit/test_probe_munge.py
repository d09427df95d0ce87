"""The local munge check names its cause, also when the binary is missing."""

from __future__ import annotations

from pathlib import Path

from monitor.config import ClusterConfig
from monitor.probes.base import ProbeTarget, utc_now
from monitor.probes.munge import probe_munge
from monitor.reasons import Reason


def test_a_missing_munge_binary_is_named():
    target = ProbeTarget(ClusterConfig(name="x", munge_bin=Path("/nonexistent")))
    result = probe_munge(target, 5, utc_now)
    assert result.reason is Reason.MISSING_BINARY
    assert result.message == "munge cannot encode: /nonexistent/munge: No such file or directory"


def test_a_failing_munge_says_what_it_printed(tmp_path: Path):
    munge = tmp_path / "munge"
    munge.write_text("#!/bin/sh\necho 'munge: Error: Failed to access socket' >&2\nexit 1\n")
    munge.chmod(0o755)
    result = probe_munge(ProbeTarget(ClusterConfig(name="x", munge_bin=tmp_path)), 5, utc_now)
    assert result.reason is Reason.AUTH
    assert result.message == "munge cannot encode: munge: Error: Failed to access socket"
