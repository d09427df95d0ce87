"""Every sdiag result reaches the published snapshot (what /metrics serves), however much
later than ping it answers (issue 12 #4: a finished but uncollected sdiag was replaced).

Stand-in Slurm binaries (shell scripts printing recorded 22.05 output) behind the real
runner, daemon and scheduler; each sdiag run numbers itself in `Jobs submitted`."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from monitor.config import (
    ClusterConfig,
    Config,
    MonitorSettings,
    SlaSettings,
    SloTargets,
    Thresholds,
)
from monitor.daemon import Daemon
from tests.support.fakes import FIXTURES, wait_for

INTERVAL = 2.0


def write_bin(d: Path, sdiag_delay: float) -> None:
    d.mkdir()
    ping = FIXTURES / "ping" / "22.05-healthy.txt"
    config = FIXTURES / "show-config" / "22.05-healthy.txt"
    sdiag = FIXTURES / "sdiag" / "22.05-healthy.txt"
    scripts = {
        "scontrol": f'case "$1" in ping) cat {ping};; *) cat {config};; esac\n',
        "sdiag": (
            f'n=$(( $(cat {d}/runs 2>/dev/null || echo 0) + 1 )); echo $n > {d}/runs\n'
            f"sleep {sdiag_delay}\n"
            f'sed "s/Jobs submitted: 0/Jobs submitted: $n/" {sdiag}\n'
        ),
    }
    for name, body in scripts.items():
        path = d / name
        path.write_text("#!/bin/sh\n" + body)
        path.chmod(path.stat().st_mode | stat.S_IXUSR)


def watch(daemon: Daemon, seen: set[int], stop: threading.Event) -> None:
    while not stop.wait(0.05):
        stats = daemon.box.get().clusters[0].statistics
        if stats and "jobs_submitted" in stats:
            seen.add(int(stats["jobs_submitted"]))


@pytest.mark.parametrize("delay", [0.0, 1.0, 3.0])
def test_every_sdiag_run_reaches_the_snapshot(tmp_path: Path, delay: float):
    bin_dir = tmp_path / "bin"
    write_bin(bin_dir, delay)
    settings = MonitorSettings(interval_seconds=INTERVAL, jitter_seconds=0.0)
    cluster = ClusterConfig(name="prod", slurm_bin=bin_dir, accounting=False)
    daemon = Daemon(Config(settings, (cluster,), SloTargets(), SlaSettings(), Thresholds()),
                    CollectorRegistry())
    seen: set[int] = set()
    stop = threading.Event()
    watcher = threading.Thread(target=watch, args=(daemon, seen, stop), daemon=True)
    daemon.start()
    watcher.start()
    try:
        wait_for(lambda: int((bin_dir / "runs").read_text() or 0) >= 5
                 if (bin_dir / "runs").exists() else False, 60)
        runs = int((bin_dir / "runs").read_text())
        # Run k's result is published by the round after it finished.
        wait_for(lambda: runs in seen or runs - 1 in seen and max(seen) >= runs - 1, 30)
    finally:
        stop.set()
        daemon.stop()
    finished = set(range(1, max(seen) + 1))
    missing = finished - seen
    assert not missing, (sorted(seen), delay)
    assert max(seen) >= runs - 1
