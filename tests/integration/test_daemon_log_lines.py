"""The real daemon with Slurm clients that cannot read slurm.conf and leave a `setsid`
grandchild behind: every log line is JSON, each probe's failure is logged once with its
cause, and no process of any command outlives it.

The fake clients print what Slurm 22.05 prints without a slurm.conf and then hang, as the
real ones do while they retry for 60 s.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import psutil
import pytest

from monitor.process_tree import MARKER
from tests.support.daemon import free_port, running_daemon

pytestmark = pytest.mark.integration

FAKE = """#!/bin/sh
setsid sh -c 'sleep 60; :' >/dev/null 2>&1 </dev/null &
echo "$(basename "$0"): error: s_p_parse_file: cannot stat file $SLURM_CONF: \
No such file or directory, retrying in 1sec up to 60sec" >&2
sleep 60
"""


def _fake_bin(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("scontrol", "sdiag", "sacctmgr"):
        path = bin_dir / name
        path.write_text(FAKE)
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return bin_dir


def _left_by(daemon_pid: int) -> list[str]:
    """Processes still carrying one of the daemon's command markers."""
    left = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        try:
            if proc.environ().get(MARKER, "").startswith(f"{daemon_pid}."):
                left.append(f"{proc.pid} {' '.join(proc.info['cmdline'] or [])}")
        except psutil.Error:
            continue
    return left


def test_json_lines_one_failure_report_per_probe_and_nothing_left(tmp_path):
    port = free_port()
    missing = tmp_path / "slurm.conf"
    config = tmp_path / "config.toml"
    config.write_text(
        "[monitor]\n"
        "interval_seconds = 1\n"
        "jitter_seconds = 0\n"
        "command_timeout_seconds = 20\n"
        'log_format = "json"\n'
        f'listen = "127.0.0.1:{port}"\n'
        f'state_dir = "{tmp_path / "state"}"\n'
        "[[clusters]]\n"
        'name = "prod"\n'
        "accounting = false\n"
        f'slurm_conf = "{missing}"\n'
        f'slurm_bin = "{_fake_bin(tmp_path)}"\n'
    )
    with running_daemon(config, port) as daemon:
        daemon.wait_until(
            "five rounds",
            lambda: (
                (daemon.value("slurm_sla_monitor_probe_rounds_total", cluster="prod") or 0) >= 5
            ),
            timeout=60,
        )
        # At exit the interpreter joins the probe threads, so commands in flight end (and
        # are cleaned up) before it does: anything left now was leaked.
        assert daemon.stop() == 0
    left = _left_by(daemon.proc.pid)
    assert not left, left
    events = [json.loads(line) for line in daemon.log.read_text().splitlines()]
    assert all({"event", "level", "logger", "timestamp"} <= e.keys() for e in events)
    failed = [e for e in events if e["event"] == "probe.failed"]
    assert sorted(e["probe"] for e in failed) == ["ping", "sdiag", "show_config"]
    for e in failed:
        assert e["reason"] == "command_failed"
        assert f"({missing}: No such file or directory)" in e["message"]
