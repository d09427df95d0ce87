"""The real daemon (`slurm-sla run`) end to end on the simulated cluster: stand-in Slurm
commands replaying output recorded from the real cluster. No root, loopback only.

Proves the daemon's lifecycle and its /metrics: detection with fast confirmation, failover,
blindness, sd_notify, SIGHUP reload (good and bad), SIGTERM drain.
"""

from __future__ import annotations

import signal
import time

import pytest

from tests.support.daemon import DaemonProcess, free_port
from tests.support.simulated_daemon import CONFIRM, INTERVAL, state, write_config

pytestmark = pytest.mark.integration


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
