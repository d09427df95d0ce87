"""The real daemon (`slurm-sla run`) and its state store, on the simulated cluster: one
daemon per state_dir, a store that cannot be opened degrades the monitor but never stops
probing nor the watchdog, and a SIGKILL in the middle of an outage loses no more than one
probe interval of the downtime the monitor had seen. No root, loopback only."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from monitor.config import load_config
from monitor.ledger.query import service_period
from monitor.ledger.sla import Policy
from monitor.ledger.store import LedgerStore
from monitor.ledger.timebase import US
from monitor.statestore import MIGRATIONS
from monitor.store.db import DB_NAME, Database
from tests.support.daemon import DaemonProcess, free_port
from tests.support.simulated_daemon import INTERVAL, state, write_config

pytestmark = pytest.mark.integration


def monitor_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args], capture_output=True, text=True, timeout=timeout
    )


def test_a_second_daemon_on_the_same_state_dir_is_refused_and_readers_still_work(sim, tmp_path):
    port = free_port()
    config = tmp_path / "config.toml"
    write_config(config, sim, port)
    first = DaemonProcess(config, port)
    try:
        first.wait_ready()
        other = tmp_path / "other.toml"  # same state_dir, another port
        write_config(other, sim, free_port())
        second = monitor_cli("run", "--config", str(other))
        assert second.returncode == 4, second  # could not run
        message = second.stderr.strip()
        assert "\n" not in message and "Traceback" not in message, message
        assert str(tmp_path / "state") in message and f"process {first.proc.pid}" in message
        listed = monitor_cli("maintenance", "list", "--config", str(config))
        assert listed.returncode == 0, listed.stderr
        assert first.get("/healthz")[0] == 200
    finally:
        assert first.stop() == 0, first.tail()


def test_a_store_that_cannot_be_opened_degrades_the_monitor_but_never_stops_it(
    sim, tmp_path, notify
):
    port = free_port()
    config = tmp_path / "config.toml"
    write_config(config, sim, port)
    blocker = tmp_path / "state" / DB_NAME
    blocker.mkdir(parents=True)  # SQLite cannot open a directory: the store is unusable
    d = DaemonProcess(
        config, port, env={"NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "2000000"}
    )
    try:
        d.wait_until("probing", lambda: state(d, "ctl1", "up"), 30)
        assert d.value("slurm_sla_store_healthy") == 0.0
        code, body = d.get("/healthz")
        assert code == 503 and "state store" in body and "cannot open" in body, body
        pings = notify.count("WATCHDOG=1")
        d.wait_until(
            "watchdog fed while the store is down",
            lambda: notify.count("WATCHDOG=1") >= pings + 3,
            15,
        )
        sim.set_situation("primary-killed")  # probing goes on: a failover is still seen
        d.wait_until("failover seen", lambda: state(d, "ctl1", "down"), 30)
        opened_failed = [
            line for line in d.log.read_text().splitlines() if "ledger.open_failed" in line
        ]
        assert len(opened_failed) == 1, opened_failed  # one line, not one per retry

        blocker.rmdir()  # the operator fixes the disk
        d.wait_until("store healthy again", lambda: d.value("slurm_sla_store_healthy") == 1.0, 30)
        d.wait_until("/healthz 200", lambda: d.get("/healthz")[0] == 200, 15)
        d.wait_until(  # the store thread starts alerting just after the store opens
            "alerting started late", lambda: "alerting.started_late" in d.log.read_text(), 15
        )
        store = LedgerStore(Database.in_dir(tmp_path / "state", migrations=MIGRATIONS))
        # the failover seen while the store was down was kept and written when it came back
        kinds = [(e.kind, e.new) for e in store.events("sim", 0, 1 << 62)]
        assert ("daemon", "down") in kinds and ("failover", "ctl2(backup)") in kinds, kinds
    finally:
        assert d.stop() == 0, d.tail()


def test_a_sigkill_during_an_outage_loses_at_most_one_interval_of_seen_downtime(sim, tmp_path):
    port = free_port()
    config = tmp_path / "config.toml"
    write_config(config, sim, port)
    d = DaemonProcess(config, port)
    started = time.time()
    try:
        d.wait_ready()
        d.wait_until("controllers up", lambda: state(d, "ctl1", "up"), 30)
        sim.set_situation("both-killed")
        d.wait_until(
            "outage seen", lambda: d.value("slurm_service_up", service="slurmctld") == 0.0, 30
        )
        seen = d.value("slurm_sla_last_probe_timestamp_seconds")
        for _ in range(3):  # a few rounds into the outage, then right after a fresh one
            d.wait_until(
                "a new round",
                lambda s=seen: d.value("slurm_sla_last_probe_timestamp_seconds") > s,
                30,
                interval=0.02,
            )
            seen = d.value("slurm_sla_last_probe_timestamp_seconds")
        d.proc.send_signal(signal.SIGKILL)
        killed = time.time()
        d.proc.wait()
    finally:
        d.stop()

    cfg = load_config(config)
    store = LedgerStore(Database.in_dir(tmp_path / "state", migrations=MIGRATIONS))
    durable = store.last_heartbeats()["sim"] / US
    lo, hi = int(started * US), int((killed + 60) * US)
    period = service_period(store, "sim", "slurmctld", lo, hi, Policy.from_settings(cfg.sla), 0.999)
    (incident,) = period.incidents
    counted_until = incident.start / US + period.breakdown.down_us / US
    print(f"seen downtime lost to the SIGKILL: {killed - counted_until:.3f} s")
    assert killed - counted_until <= INTERVAL, (killed, counted_until, durable)
    assert counted_until == pytest.approx(durable)  # all of the durable outage is counted

    # the kernel released the state_dir lock with the process: a restart simply runs
    again = DaemonProcess(config, port)
    try:
        again.wait_ready()
    finally:
        assert again.stop() == 0, again.tail()
