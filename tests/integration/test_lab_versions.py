"""The lab runs the newer Slurm releases for real: for 24.11 (Debian trixie) and 26.05
(Debian sid), `python3 -m tests.cluster up` brings up a healthy HA cluster of that version
(both controllers, both slurmdbd), a killed primary fails over to the backup, and `down`
leaves nothing behind. Driven through the command line, as a user would.

Each version takes about 30 s (startup ~15 s, failover ~7-10 s); a fresh machine first
builds the version's Debian root (~35 s, cached in /var/cache/sslab/roots).
"""

from __future__ import annotations

import json
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
        # The issue's own check: the lab's monitor config, and `slurm-sla probe` on the hub.
        config = Path(lab.root) / "lab.toml"
        printed = cli("config")
        assert printed.returncode == 0, printed.stderr
        config.write_text(printed.stdout)
        probed = cli("exec", sys.executable, "-m", "monitor", "probe", "--config", str(config),
                     "--json")
        cluster = json.loads(probed.stdout)["clusters"][0]
        assert cluster["slurm_version"] == lab.slurm_version, probed.stderr
        states = {d["hostname"]: d["state"] for d in cluster["daemons"]}
        assert states == {"ctl1": "up", "ctl2": "up", "dbd1": "up", "dbd2": "unknown"}, states
        ctl = cluster["services"]["slurmctld"]
        assert ctl["active"]["hostname"] == "ctl1"
        assert ctl["active_source"] == ("readyz" if version >= "25.11" else "ping")

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
