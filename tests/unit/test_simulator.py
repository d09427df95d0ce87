"""The simulated cluster replays the real recordings faithfully, and its slurmdbd ports
follow the situation."""

from __future__ import annotations

import filecmp
import json
import socket
import subprocess

from monitor.simulator.cluster import RECORDED_VERSION, SimulatedCluster, recordings_dir
from monitor.simulator.situations import COMMANDS, SITUATIONS
from tests.sync_recordings import FIXTURES, wanted


def test_packaged_recordings_are_the_fixtures():
    """monitor/simulator/recordings is a copy of tests/fixtures: refresh it with
    `python -m tests.sync_recordings` after re-recording."""
    packaged = sorted(p.relative_to(recordings_dir()) for p in recordings_dir().rglob("*")
                      if p.is_file())
    assert packaged == wanted()
    for rel in packaged:
        assert filecmp.cmp(recordings_dir() / rel, FIXTURES / rel, shallow=False), rel


def test_every_situation_has_its_recordings():
    for name, situation in SITUATIONS.items():
        for _, _, kind in COMMANDS:
            if kind == "sacctmgr-ping":
                continue  # not in 22.05: the recording is the failure
            path = recordings_dir() / kind / f"{RECORDED_VERSION}-{situation.recording}.txt"
            assert path.exists(), (name, path)


def _up(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
        return True
    except OSError:
        return False


def test_standins_replay_output_stderr_and_exit_code(tmp_path):
    sim = SimulatedCluster(tmp_path)
    sim.install()
    try:
        sim.set_situation("both-killed")
        result = subprocess.run([str(sim.bin_dir / "sdiag")], capture_output=True, text=True,
                                timeout=10)
        meta = json.loads((recordings_dir() / "sdiag" / "22.05-both-killed.meta.json")
                          .read_text())
        assert result.returncode == meta["returncode"] != 0
        assert "Unable to contact slurm controller" in result.stderr
        sim.set_situation("healthy")
        ping = subprocess.run([str(sim.bin_dir / "scontrol"), "ping"], capture_output=True,
                              text=True, timeout=10)
        assert ping.returncode == 0 and "Slurmctld(primary) at ctl1 is UP" in ping.stdout
        unknown = subprocess.run([str(sim.bin_dir / "scontrol"), "show", "nodes"],
                                 capture_output=True, text=True, timeout=10)
        assert unknown.returncode == 64 and "no recording" in unknown.stderr
        assert "SIMULATION" in (sim.bin_dir / "scontrol").read_text()
    finally:
        sim.close()


def test_dbd_ports_follow_the_situation(tmp_path):
    sim = SimulatedCluster(tmp_path)
    sim.install()
    try:
        sim.set_situation("healthy")
        assert (_up(sim.ports["primary"]), _up(sim.ports["backup"])) == (True, False)
        for _ in range(300):  # connections are accepted and dropped: no backlog builds up
            assert _up(sim.ports["primary"])
        sim.set_situation("dbd-primary-killed")
        assert (_up(sim.ports["primary"]), _up(sim.ports["backup"])) == (False, True)
        sim.set_situation("both-dbd-killed")
        assert (_up(sim.ports["primary"]), _up(sim.ports["backup"])) == (False, False)
    finally:
        sim.close()
