"""The test cluster itself (tests/cluster): it really fails over, fails back, protects
against split brain, shows Slurm's failure signatures, and leaves nothing behind.

Timings asserted here are deliberately loose multiples of what SLURM-LAB.md measured
(takeover 7-9 s after kill -9 with SlurmctldTimeout=6, failback 1-3 s, slurmdbd
failover under 1 s); the test that stops the lab runs last.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cluster import layout
from tests.cluster.cleanup import leftovers
from tests.cluster.lab import Lab
from tests.cluster.procs import ProcRef

pytestmark = pytest.mark.cluster

REPO = Path(__file__).resolve().parents[2]


def active_control_host(lab: Lab) -> str:
    p = lab.run_client(
        ["sacctmgr", "-nP", "show", "cluster", "format=cluster,controlhost"], timeout=20
    )
    return p.stdout.strip().split("|")[-1]


def wait_for(what: str, check, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what} not within {timeout}s"
        time.sleep(0.5)


def test_healthy_from_the_start(healthy_lab: Lab) -> None:
    lab = healthy_lab
    assert lab.ping() == {"ctl1": "UP", "ctl2": "UP"}
    assert lab.controller_states() == {"ctl1": "serving", "ctl2": "standby"}
    assert lab.dbd_states() == {"dbd1": "serving", "dbd2": "standby"}
    assert lab.node_states() == {"c1": "idle", "c2": "idle"}
    assert lab.slurm_version and lab.slurm_version.startswith(f"{lab.slurm}.")
    job = lab.run_client(["srun", "-N2", "hostname"], timeout=30)
    assert job.returncode == 0, job.stderr
    assert sorted(job.stdout.split()) == ["c1", "c2"]


def test_clients_from_root_namespace_through_wrappers(healthy_lab: Lab) -> None:
    """What the monitor does: slurm_bin = lab.bin_dir, SLURM_CONF = lab.slurm_conf."""
    lab = healthy_lab
    env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "SLURM_CONF": str(lab.slurm_conf)}
    ping = subprocess.run(
        [str(lab.bin_dir / "scontrol"), "ping"], env=env, capture_output=True, text=True, timeout=20
    )
    assert ping.returncode == 0 and "at ctl1 is UP" in ping.stdout, ping
    sock = f"--socket={lab.munge_socket}"
    cred = subprocess.run(
        [str(lab.bin_dir / "munge"), sock, "-n"],
        env=env,
        capture_output=True,
        text=True,
        timeout=20,
    )
    check = subprocess.run(
        [str(lab.bin_dir / "unmunge"), sock],
        input=cred.stdout,
        env=env,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert check.returncode == 0, check.stderr


def test_each_host_sees_only_its_own_processes(healthy_lab: Lab) -> None:
    lab = healthy_lab
    name = lab.run_on("ctl1", ["hostname"], timeout=10)
    assert name.stdout.strip() == "ctl1"
    ps = lab.run_on("ctl1", ["ps", "-e", "-o", "comm="], timeout=10)
    assert ps.stdout.split().count("slurmctld") == 1, ps.stdout
    assert "slurmdbd" not in ps.stdout and "slurmd" not in ps.stdout.split()
    pidfile = lab.run_on("ctl1", ["cat", f"{lab.root}/local/slurmctld.pid"], timeout=10)
    pid_inside = int(pidfile.stdout)
    assert pid_inside != lab.pid("ctl1")  # a PID of ctl1's own PID namespace
    hosts = lab.run_on("ctl1", ["getent", "hosts", "dbd2"], timeout=10)
    assert hosts.stdout.split()[0] == layout.HOSTS["dbd2"]
    long = lab.spawn_on("ctl1", ["sleep", "60"])
    long.terminate()
    assert long.wait(timeout=10) == -signal.SIGTERM


def test_failover_when_primary_killed_and_failback(healthy_lab: Lab) -> None:
    lab = healthy_lab
    lab.kill("ctl1")
    assert lab.ping() == {"ctl1": "DOWN", "ctl2": "UP"}
    took = lab.wait_serving("ctl2", timeout=30)
    assert took < 20, f"takeover took {took:.1f}s"
    wait_for(
        "ControlHost names the backup", lambda: active_control_host(lab) == layout.HOSTS["ctl2"], 20
    )
    lab.restore("ctl1")
    took = lab.wait_serving("ctl1", timeout=20)
    assert took < 10, f"failback took {took:.1f}s"
    assert lab.ping() == {"ctl1": "UP", "ctl2": "UP"}


def test_unreachable_primary_keeps_backup_in_standby(healthy_lab: Lab) -> None:
    """Split-brain protection: the primary still writes its heartbeat to the shared
    StateSaveLocation, so the backup never takes over although it cannot reach it."""
    lab = healthy_lab
    lab.cut_link("ctl1")
    t0 = time.monotonic()
    sdiag = lab.spawn_client(["sdiag"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while time.monotonic() - t0 < 20:  # well past SlurmctldTimeout=6 and a takeover
        states = lab.controller_states()
        assert states["ctl2"] == "standby", states
        assert states["ctl1"].startswith("down"), states
    out, err = sdiag.communicate(timeout=30)
    assert sdiag.returncode != 0
    assert "backup controller in standby mode" in err
    assert lab.ping() == {"ctl1": "DOWN", "ctl2": "UP"}
    assert lab.is_running("ctl1")


def test_slurmdbd_failover(healthy_lab: Lab) -> None:
    lab = healthy_lab
    lab.kill("dbd1")
    took = lab.wait_dbd_serving("dbd2", timeout=15)
    assert took < 5, f"slurmdbd failover took {took:.1f}s"
    stats = lab.run_client(["sacctmgr", "show", "stats"], timeout=20)
    assert stats.returncode == 0 and "Data since" in stats.stdout, stats.stderr
    lab.restore("dbd1")
    lab.wait_dbd_serving("dbd1", timeout=20)
    assert lab.dbd_states()["dbd2"] == "standby"


def test_munge_down_signature(healthy_lab: Lab) -> None:
    lab = healthy_lab
    lab.kill("munge")
    t0 = time.monotonic()
    ping = lab.run_client(["scontrol", "ping"], timeout=30)
    assert ping.returncode == 1
    assert "at ctl1 is DOWN" in ping.stdout and "at ctl2 is DOWN" in ping.stdout
    assert "Munge encode failed" in ping.stderr and "authentication error" in ping.stderr
    assert time.monotonic() - t0 < 15


def test_mariadb_down_signature(healthy_lab: Lab) -> None:
    lab = healthy_lab
    lab.kill("db")
    stats = lab.run_client(["sacctmgr", "show", "stats"], timeout=20)
    assert stats.returncode == 1
    assert "Unable to connect to database" in stats.stderr
    assert lab.run_client(["sdiag"], timeout=20).returncode == 0  # slurmctld is fine


def test_frozen_controller_makes_commands_time_out(healthy_lab: Lab) -> None:
    lab = healthy_lab
    lab.freeze("ctl1")
    t0 = time.monotonic()
    ping = lab.spawn_client(["scontrol", "ping"], stdout=subprocess.PIPE, text=True)
    sdiag = lab.spawn_client(["sdiag"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with pytest.raises(subprocess.TimeoutExpired):
        lab.run_client(["scontrol", "show", "config"], timeout=5)
    ping_out, _ = ping.communicate(timeout=30)
    _, sdiag_err = sdiag.communicate(timeout=30)
    assert time.monotonic() - t0 >= 8
    assert "at ctl1 is DOWN" in ping_out
    assert sdiag.returncode != 0
    assert "Socket timed out on send/recv operation" in sdiag_err
    assert lab.is_frozen("ctl1") and lab.is_running("ctl1")


def test_scontrol_takeover(healthy_lab: Lab) -> None:
    lab = healthy_lab
    assert lab.takeover().returncode == 0
    lab.wait_serving("ctl2", timeout=20)
    wait_for("the primary exits after handing over", lambda: not lab.is_running("ctl1"), 20)


def test_stop_leaves_nothing_behind(lab: Lab) -> None:
    """Stops the session's lab (a later healthy_lab starts it again)."""
    lab.heal()
    started = lab.processes()
    assert len(started) == len(layout.DAEMONS) + len(layout.HOSTS) - 1  # hub has no init
    root = lab.root
    lab.stop()
    lab.stop()  # idempotent
    assert leftovers() == {
        "namespaces": [],
        "processes": [],
        "mounts": [],
        "routes": [],
        "directories": [],
    }
    assert [name for name, ref in started.items() if ref.state() is not None] == []
    assert not root.exists()
    assert not os.path.exists(layout.LOCK_FILE)


def test_next_run_cleans_up_after_a_crashed_one(lab: Lab) -> None:
    """A lab whose Python process dies without stop() leaves daemons (munged in the root
    namespace among them), namespaces, mounts and the route; the next start removes it."""
    lab.stop()
    crash = (
        "import os, signal\n"
        "from tests.cluster.lab import Lab\n"
        "lab = Lab()\n"
        "lab.start()\n"
        "print(lab.pid('munge'), flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    child = subprocess.run(
        [sys.executable, "-c", crash], capture_output=True, text=True, timeout=120, cwd=REPO
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    munged = ProcRef.of(int(child.stdout))
    assert munged is not None and munged.alive()
    left = leftovers()
    assert all(left.values()), left  # namespaces, processes, mounts, route, directory
    lab.start()  # cleans up first, then starts afresh
    assert not munged.alive()
    lab.stop()
    assert leftovers() == {
        "namespaces": [],
        "processes": [],
        "mounts": [],
        "routes": [],
        "directories": [],
    }
