"""A SIGHUP held while `slurm-sla run` starts is applied once the service runs (a real
process: the hold is in the entry point, before any heavy import)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from tests.support.daemon import free_port

pytestmark = pytest.mark.integration


def _catches_sighup(pid: int) -> bool:
    with open(f"/proc/{pid}/status") as f:
        caught = next(line for line in f if line.startswith("SigCgt:"))
    return bool(int(caught.split()[1], 16) & (1 << (signal.SIGHUP - 1)))


def test_the_running_service_applies_a_held_reload(tmp_path):
    port = free_port()
    config = tmp_path / "config.toml"
    config.write_text(
        f'[monitor]\nlisten = "127.0.0.1:{port}"\nstate_dir = "{tmp_path / "state"}"\n'
        'log_format = "json"\n[[clusters]]\nname = "a"\nslurm_bin = "/nonexistent"\n'
    )
    log = tmp_path / "log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while not _catches_sighup(proc.pid):  # held from the first moments of `run`
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.005)
        proc.send_signal(signal.SIGHUP)
        while "config.reloaded" not in log.read_text():
            assert proc.poll() is None, f"exit {proc.returncode}: {log.read_text()}"
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(30)
    assert proc.returncode == 0
