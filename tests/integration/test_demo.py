"""The README's first command: `slurm-sla demo` runs the real daemon against the simulated
cluster, alerts fire and resolve, and the month's report is written."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.integration


def scratch_env(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """An environment whose TMPDIR is ours, to see what the demo leaves behind."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    return {**os.environ, "TMPDIR": str(scratch)}, scratch


@pytest.mark.parametrize("backend", ["cli", "rest"])
def test_demo_fires_and_resolves_alerts_and_writes_the_report(tmp_path, backend):
    """The same story and the same alerts through stand-in commands (cli) and through a
    simulated slurmrestd replaying recorded 26.05 JSON (rest)."""
    out = tmp_path / "reports"
    env, scratch = scratch_env(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "demo", "--duration", "40", "--listen",
         "127.0.0.1:0", "--output", str(out), "--backend", backend],
        capture_output=True, text=True, timeout=180, env=env)
    text = result.stdout
    assert result.returncode == 0, text + result.stderr
    assert list(scratch.iterdir()) == [], "the demo left its scratch directory behind"
    assert text.startswith("SIMULATION:")
    assert re.search(r"metrics:\s+http://127\.0\.0\.1:\d+/metrics", text)
    for alert in ("SlurmctldFailover", "SlurmctldDown", "SlurmMonitorBlind"):
        assert re.search(rf"ALERT FIRING\s+{alert}", text), (alert, text)
        assert re.search(rf"ALERT RESOLVED\s+{alert}", text), (alert, text)
    # the slurmdbd outage is inside the maintenance window: silenced
    assert not re.search(r"ALERT FIRING\s+SlurmdbdDown", text), text
    # a failover is not an outage; blindness is not "down"
    failover_step = text.split("step: primary-killed")[1].split("step: healthy")[0]
    assert "SlurmctldDown" not in failover_step
    reports = sorted(p.name for p in out.iterdir())
    assert any(name.endswith(".md") for name in reports), reports
    assert any(name.endswith(".html") for name in reports), reports
    md = next(out.glob("*.md")).read_text()
    assert "both controllers down" in md
    assert "report:" in text and str(out) in text


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stopped_demo_removes_its_scratch_directory(tmp_path, signum):
    """Stopped while the daemon runs: it drains, writes the report so far, removes the
    state, log and stand-ins, and exits 0 (as `slurm-sla run` on SIGTERM/SIGINT)."""
    out = tmp_path / "reports"
    env, scratch = scratch_env(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "demo", "--duration", "600", "--listen",
         "127.0.0.1:0", "--output", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()
    try:
        seen = ""
        while "duration:" not in seen:  # the banner, printed before the daemon starts
            seen += lines.get(timeout=120)
        url = re.search(r"metrics:\s+(\S+)", seen).group(1)
        _wait_answering(url)  # the daemon runs, so its SIGTERM/SIGINT handlers are in
        assert [p.name for p in scratch.iterdir()][0].startswith("slurm-sla-demo-")
        proc.send_signal(signum)
        assert proc.wait(timeout=120) == 0, seen + proc.stderr.read()
    finally:
        proc.kill()
        proc.wait()
    assert list(scratch.iterdir()) == [], "the demo left its scratch directory behind"
    assert any(out.glob("*.md")), "the report of the run so far was not written"


def _wait_answering(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            requests.get(url, timeout=5)
            return
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.mark.cluster
@pytest.mark.skipif(
    not os.environ.get("SLURM_SLA_DEMO_REAL"),
    reason="2 min of the 30-min CI budget: set SLURM_SLA_DEMO_REAL=1 to run it",
)
def test_demo_real_runs_the_script_against_the_real_cluster(lab, tmp_path):
    """`slurm-sla demo --real`: the same script, daemons really killed (it starts its own
    lab, so the session's lab is stopped first; the next test that needs it restarts it)."""
    lab.stop()
    out = tmp_path / "reports"
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "demo", "--real", "--duration", "120", "--listen",
         "127.0.0.1:0", "--output", str(out)],
        capture_output=True, text=True, timeout=600)
    text = result.stdout
    assert result.returncode == 0, text + result.stderr
    assert text.startswith("REAL CLUSTER:")
    for alert in ("SlurmctldFailover", "SlurmctldDown", "SlurmMonitorBlind"):
        assert re.search(rf"ALERT FIRING\s+{alert}", text), (alert, text)
    assert "both-dbd-killed" not in text  # slurmdbd is not watched in --real
    assert any(out.glob("*.html"))
