"""`slurm-sla demo --ha` end to end: two real replicas, a real Alertmanager pair (Debian's
prometheus-alertmanager, installed if missing), replica a SIGKILLed mid-outage: one page
per incident at the receiver, the merged ledgers know the whole story, and nothing the demo
started outlives it."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import psutil
import pytest

from tests.support.debian import ensure_packages

pytestmark = pytest.mark.integration

DURATION = 40  # the shortest story the script allows is 36 s; the run takes ~50 s
PROBE_INTERVAL = 2.0  # the demo's


@pytest.fixture(autouse=True)
def alertmanager() -> None:
    ensure_packages("prometheus-alertmanager", binary="prometheus-alertmanager")


def scratch_env(tmp_path: Path) -> tuple[dict[str, str], Path]:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    return {**os.environ, "TMPDIR": str(scratch)}, scratch


def left_running(scratch: Path) -> list[str]:
    """Processes whose command line names the demo's scratch directory (the Alertmanagers'
    and the replicas' configs live there)."""
    found = []
    for p in psutil.process_iter(["pid", "cmdline"]):
        cmd = " ".join(p.info["cmdline"] or ())
        if str(scratch) in cmd:
            found.append(f"{p.info['pid']}: {cmd}")
    return found


def test_demo_ha_pages_once_per_incident_and_the_merged_ledger_knows_the_story(tmp_path):
    out = tmp_path / "reports"
    env, scratch = scratch_env(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "demo", "--ha", "--duration", str(DURATION),
         "--listen", "127.0.0.1:0", "--output", str(out)],
        capture_output=True, text=True, timeout=240, env=env)  # fmt: skip
    text = result.stdout
    assert result.returncode == 0, text + result.stderr
    last = json.loads(text.strip().splitlines()[-1])
    assert set(last) == {"incidents", "pages", "duplicate_pages", "merged_unknown_seconds"}
    assert last["incidents"] == 4, text
    assert last["duplicate_pages"] == 0, text
    assert last["pages"] == last["incidents"], text
    assert last["merged_unknown_seconds"] < 2 * PROBE_INTERVAL, text

    # The receiver's own record: each incident one firing and one resolved notice, from
    # one Alertmanager or the other, and nothing else (the slurmdbd outage was silenced,
    # SlurmctldBackupDown inhibited by SlurmctldDown in the Alertmanager).
    posts = [json.loads(line) for line in (out / "ha-receiver.jsonl").read_text().splitlines()]
    seen = Counter(
        (a["labels"]["alertname"], a["labels"].get("service"), a["status"])
        for p in posts
        for a in p["payload"]["alerts"]
    )
    incidents = [("SlurmMonitorBlind", "slurmctld"), ("SlurmMonitorBlind", "slurmdbd"),
                 ("SlurmctldFailover", "slurmctld"), ("SlurmctldDown", "slurmctld")]  # fmt: skip
    assert seen == Counter({(*i, s): 1 for i in incidents for s in ("firing", "resolved")}), seen
    assert all(p["payload"]["receiver"] == "demo-pager" for p in posts)

    # Replica a was SIGKILLed after the outage paged and before it ended, and came back.
    lines = text.splitlines()
    at = {key: next(i for i, x in enumerate(lines) if key in x)
          for key in ("PAGE      SlurmctldDown", "SIGKILLed", "RESOLVED  SlurmctldDown",
                      "replica a started again")}  # fmt: skip
    assert at["SIGKILLed"] < at["RESOLVED  SlurmctldDown"], text
    assert at["SIGKILLed"] < at["replica a started again"], text
    # what the merge covered: a alone did not know part of the story (blind, then dead)
    alone_a = next(x for x in lines if "replica a alone:" in x)
    assert float(alone_a.split(":")[1].split()[0]) >= 2 * PROBE_INTERVAL, alone_a

    md = next(out.glob("*.md")).read_text()
    assert "merged from replicas a, b" in md
    assert "both controllers down" in md
    assert list(scratch.iterdir()) == [], "the demo left its scratch directory behind"
    assert left_running(scratch) == []


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stopped_ha_demo_leaves_nothing_running(tmp_path, signum):
    """Stopped mid-story: the replicas and the Alertmanagers are stopped, the scratch
    directory removed, and the demo exits as interrupted."""
    env, scratch = scratch_env(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "demo", "--ha", "--duration", "600", "--listen",
         "127.0.0.1:0", "--output", str(tmp_path / "reports")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()
    try:
        seen = ""
        while "step: " not in seen:  # the story runs: every process has started
            seen += lines.get(timeout=120)
        running = left_running(scratch)
        assert any("prometheus-alertmanager" in p for p in running), running
        assert sum(" run --config " in p for p in running) == 2, running
        proc.send_signal(signum)
        assert proc.wait(timeout=60) == 130, seen + proc.stderr.read()
    finally:
        proc.kill()
        proc.wait()
    assert left_running(scratch) == []
    assert list(scratch.iterdir()) == [], "the demo left its scratch directory behind"
