"""The README's first command: `slurm-sla demo` runs the real daemon against the simulated
cluster, alerts fire and resolve, and the month's report is written."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration


def test_demo_fires_and_resolves_alerts_and_writes_the_report(tmp_path):
    out = tmp_path / "reports"
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "demo", "--duration", "40", "--listen",
         "127.0.0.1:0", "--output", str(out)],
        capture_output=True, text=True, timeout=180)
    text = result.stdout
    assert result.returncode == 0, text + result.stderr
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


@pytest.mark.cluster
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
