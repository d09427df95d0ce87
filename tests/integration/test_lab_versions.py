"""The lab runs the newer Slurm releases for real: for 24.11 (Debian trixie) and 26.05
(Debian sid), `python3 -m tests.cluster up` brings up a healthy HA cluster of that version
(both controllers, both slurmdbd), a killed primary fails over to the backup, and `down`
leaves nothing behind. Driven through the command line, as a user would.

Each version takes about 30 s (startup ~15 s, failover ~7-10 s); a fresh machine first
builds the version's Debian root (~35 s, cached in /var/cache/sslab/roots).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cluster import layout
from tests.cluster.cleanup import leftovers
from tests.cluster.lab import Lab

pytestmark = pytest.mark.cluster

REPO = Path(__file__).resolve().parents[2]
CLEAN = {"namespaces": [], "processes": [], "mounts": [], "routes": [], "directories": []}


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests.cluster", *args],
        capture_output=True, text=True, timeout=timeout, cwd=REPO,
    )  # fmt: skip


@pytest.fixture
def no_session_lab(lab: Lab) -> None:
    """Only one lab per machine: stop the session's (a later healthy_lab restarts it)."""
    lab.stop()


@pytest.mark.parametrize("version", ["24.11", "26.05"])
def test_lab_runs_the_release_and_fails_over(no_session_lab: None, version: str) -> None:
    t0 = time.monotonic()
    up = cli("up", "--slurm", version)
    try:
        assert up.returncode == 0, up.stderr
        lab = Lab.attach()
        assert lab.slurm_version and lab.slurm_version.startswith(f"{version}."), lab.slurm_version
        # The clients on the hub are the release's own.
        assert cli("exec", "scontrol", "--version").stdout.split()[-1] == lab.slurm_version
        assert lab.controller_states() == {"ctl1": "serving", "ctl2": "standby"}
        assert lab.dbd_states() == {"dbd1": "serving", "dbd2": "standby"}
        assert all(lab.is_running(d) for d in layout.DAEMONS)

        killed = cli("kill", "ctl1")
        assert killed.returncode == 0, killed.stderr
        took = lab.wait_serving("ctl2", timeout=40)
        print(f"{version}: up {up.stdout.strip()}; ctl2 serving {took:.1f}s after kill -9 ctl1")
    finally:
        down = cli("down", timeout=120)
    assert down.returncode == 0, down.stderr
    assert leftovers() == CLEAN
    assert not os.path.exists(layout.LOCK_FILE)
    print(f"{version}: {time.monotonic() - t0:.1f}s in all")
