"""The real daemon (`slurm-sla run`) end to end on the simulated cluster: stand-in Slurm
commands replaying output recorded from the real cluster. No root, loopback only.

Proves the daemon's lifecycle and its /metrics: detection with fast confirmation, failover,
blindness, sd_notify, SIGHUP reload (good and bad), SIGTERM drain.
"""

from __future__ import annotations

import signal
import socket
import threading
import time

import pytest

from monitor.simulator.cluster import SimulatedCluster
from tests.support.daemon import DaemonProcess, free_port

pytestmark = pytest.mark.integration

INTERVAL, CONFIRM = 2.0, 0.5


def write_config(path, sim: SimulatedCluster, port: int, interval: float = INTERVAL,
                 extra: str = "") -> None:
    addresses = ", ".join(f'{h} = "{a}"' for h, a in sim.host_addresses().items())
    path.write_text(
        "[monitor]\n"
        f"interval_seconds = {interval}\nconfirm_interval_seconds = {CONFIRM}\n"
        "jitter_seconds = 0\nfailure_threshold = 2\nrecovery_threshold = 2\n"
        f'listen = "127.0.0.1:{port}"\nstate_dir = "{path.parent}/state"\n'
        'log_format = "json"\n'
        "[[clusters]]\n"
        'name = "sim"\n'
        f'slurm_bin = "{sim.bin_dir}"\nmunge_bin = "{sim.bin_dir}"\n'
        f"host_addresses = {{ {addresses} }}\n" + extra
    )


@pytest.fixture
def sim(tmp_path):
    cluster = SimulatedCluster(tmp_path / "sim")
    cluster.install()
    cluster.set_situation("healthy")
    yield cluster
    cluster.close()


class NotifyListener:
    """A stand-in for systemd's notify socket that keeps reading, as systemd does."""

    def __init__(self, path) -> None:
        self.path = path
        self.messages: list[str] = []
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(str(path))
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                self.messages += self._sock.recv(4096).decode().split("\n")
            except (TimeoutError, OSError):
                continue

    def count(self, message: str) -> int:
        return self.messages.count(message)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._sock.close()


@pytest.fixture
def notify(tmp_path):
    listener = NotifyListener(tmp_path / "notify.sock")
    yield listener
    listener.close()


def state(d: DaemonProcess, host: str, value: str) -> bool:
    return d.value("slurm_daemon_state", host=host, state=value) == 1.0


def test_daemon_end_to_end(sim, tmp_path, notify):
    port = free_port()
    config = tmp_path / "config.toml"
    write_config(config, sim, port)
    d = DaemonProcess(config, port, env={"NOTIFY_SOCKET": str(notify.path),
                                         "WATCHDOG_USEC": "2000000"})
    try:
        d.wait_ready()
        d.wait_until("both controllers up", lambda: state(d, "ctl1", "up") and
                     state(d, "ctl2", "up"), 15)
        assert notify.count("READY=1") == 1
        d.wait_until("watchdog pings", lambda: notify.count("WATCHDOG=1") >= 2, 5)
        assert d.value("slurm_service_up", service="slurmctld") == 1.0
        assert d.value("slurm_controller_active", host="ctl1") == 1.0
        # sdiag is a slow probe: its first answer may join a later round
        d.wait_until("sdiag statistics", lambda: d.value(
            "slurm_scheduler_server_threads") is not None, 10)
        assert d.value("slurm_sla_store_healthy") == 1.0
        assert d.value("slurm_sla_objective_ratio", service="slurmctld") == 0.999
        assert "slurm_service_up" in d.get("/")[1] or d.get("/")[0] == 200

        # primary killed: detected within one interval plus the confirmation round
        sim.set_situation("primary-killed")
        took = d.wait_until("ctl1 down", lambda: state(d, "ctl1", "down"), 15, interval=0.05)
        assert took <= INTERVAL + CONFIRM + 2, took
        d.wait_until("ctl2 serving", lambda: d.value("slurm_controller_active", host="ctl2")
                     == 1.0, 10)
        assert d.value("slurm_controller_failovers_total") == 1.0
        assert d.value("slurm_service_up", service="slurmctld") == 1.0
        assert d.value("slurm_sla_monitor_confirm_rounds_total") >= 1

        # munge broken on our side: unknown, never down; auth errors counted
        sim.set_situation("munge-down")
        d.wait_until("blind", lambda: state(d, "ctl2", "unknown"), 15)
        assert d.value("slurm_probe_errors_total", probe="ping", reason="auth") >= 1
        assert not any(n == "slurm_daemon_state" and lab.get("state") == "down" and v == 1.0
                       and lab.get("host") in ("ctl2",) for n, lab, v in d.metrics())
        assert d.value("slurm_service_up", service="slurmctld") is None  # absent, not 0

        # both controllers down
        sim.set_situation("both-killed")
        d.wait_until("service down", lambda: d.value("slurm_service_up", service="slurmctld")
                     == 0.0, 15)

        # a broken config on SIGHUP keeps the old one
        good = config.read_text()
        config.write_text(good + "\n[bogus]\n")
        d.signal(signal.SIGHUP)
        d.wait_until("reload failure reported",
                     lambda: d.value("slurm_sla_config_last_reload_successful") == 0.0, 10)
        assert d.get("/healthz")[0] == 200
        write_config(config, sim, port, interval=1.0)
        d.signal(signal.SIGHUP)
        d.wait_until("reload success", lambda: d.value(
            "slurm_sla_config_last_reload_successful") == 1.0, 10)
    finally:
        rc = d.stop()
    assert rc == 0, d.tail()
    assert notify.count("STOPPING=1") == 1
    assert '"event": "daemon.stopped"' in d.log.read_text()


def test_metrics_answer_quickly_while_every_command_hangs(sim, tmp_path):
    """Like a frozen slurmctld: commands hang until their timeout; scrapes never wait."""
    port = free_port()
    config = tmp_path / "config.toml"
    write_config(config, sim, port, interval=1.0)
    d = DaemonProcess(config, port)
    try:
        d.wait_ready()
        for kind in ("ping", "sdiag", "show-config", "sacctmgr-stats", "cluster"):
            (sim.root / "situations" / "healthy" / f"{kind}.delay").write_text("600\n")
        time.sleep(3)  # rounds are now stuck in their commands
        for _ in range(20):
            t0 = time.monotonic()
            code, body = d.get("/metrics")
            assert code == 200 and "slurm_daemon_state" in body
            assert time.monotonic() - t0 < 0.5
    finally:
        assert d.stop() == 0, d.tail()
