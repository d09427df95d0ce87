"""The local process check on real processes."""

from __future__ import annotations

import shutil
import subprocess
import time

from monitor.probes.process import check_process


def test_finds_a_running_daemon_and_notices_it_is_gone(tmp_path):
    # A uniquely named copy of sleep stands in for a daemon binary.
    binary = tmp_path / "slurmfaked"
    shutil.copy(shutil.which("sleep"), binary)
    proc = subprocess.Popen([str(binary), "30"])
    try:
        deadline = time.monotonic() + 5
        seen = check_process("slurmfaked")
        while not seen.running and time.monotonic() < deadline:
            time.sleep(0.05)
            seen = check_process("slurmfaked")
        assert seen.running and seen.pid == proc.pid
        assert seen.rss_bytes and seen.rss_bytes > 0
        assert seen.threads == 1 and seen.start_time and seen.open_files is not None
    finally:
        proc.kill()
        proc.wait()
    assert check_process("slurmfaked").running is False


def test_absent_daemon():
    assert check_process("no-such-slurm-daemon").running is False
