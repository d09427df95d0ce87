"""The daemon's scheduling with a fake runner: reloads and clock steps never stop probing.

APScheduler runs for real here (interval 1 s); the tests wait on round counters with a
generous deadline, never on a fixed sleep."""

from __future__ import annotations

import dataclasses
import time

import pytest
from prometheus_client import CollectorRegistry

from monitor.clock import MonotonicClock
from monitor.config import (
    Config,
    MonitorSettings,
)
from monitor.daemon import Daemon
from tests.support.daemon_round import config, rounds
from tests.support.fakes import FakeRunner, wait_for


def with_accounting(cfg: Config) -> Config:
    # Both slurmdbd hosts on a loopback port nobody listens on: the port check is quick.
    cluster = dataclasses.replace(
        cfg.clusters[0],
        accounting=True,
        host_addresses={"dbd1": "127.0.0.1", "dbd2": "127.0.0.1"},
    )
    return dataclasses.replace(cfg, clusters=(cluster,))


def service_state(daemon: Daemon, service: str) -> str | None:
    clusters = daemon.box.get().clusters
    svc = clusters[0].services.get(service) if clusters else None
    return None if svc is None else svc.state.value


@pytest.fixture
def start():
    daemons: list[Daemon] = []

    def _start(cfg: Config, **kwargs) -> Daemon:
        kwargs.setdefault("run", FakeRunner())
        daemon = Daemon(cfg, CollectorRegistry(), **kwargs)
        daemons.append(daemon)
        daemon.start()
        return daemon

    yield _start
    for daemon in daemons:
        daemon.stop(wait=False)


def test_a_reload_with_a_new_threshold_keeps_probing_at_that_threshold(start):
    """Issue 12 #5: the job was re-added paused (no next run time) on any [monitor] change."""
    daemon = start(config())
    wait_for(lambda: rounds(daemon) >= 2)
    daemon.reload(config(failure_threshold=3))
    after = rounds(daemon)
    wait_for(lambda: rounds(daemon) >= after + 3)
    runtime = daemon._clusters["prod"]  # noqa: SLF001
    assert runtime.health._settings.failure_threshold == 3  # noqa: SLF001
    job = daemon._scheduler.get_job("probe:prod:slurmctld")  # noqa: SLF001
    assert job is not None and job.next_run_time is not None


def test_a_reload_that_changes_the_interval_applies_it(start):
    daemon = start(config())
    wait_for(lambda: rounds(daemon) >= 1)
    daemon.reload(dataclasses.replace(config(), monitor=MonitorSettings(interval_seconds=30)))
    job = daemon._scheduler.get_job("probe:prod:slurmctld")  # noqa: SLF001
    assert job.trigger.interval.total_seconds() == 30
    assert job.next_run_time is not None


def test_the_guard_restarts_rounds_the_scheduler_left_waiting(start):
    """What a wall-clock step back does to APScheduler (its next run an hour away in wall
    time), reproduced directly: the guard sees the round overdue by the monotonic clock."""
    daemon = start(config())
    wait_for(lambda: rounds(daemon) >= 1)
    job = daemon._scheduler.get_job("probe:prod:slurmctld")  # noqa: SLF001
    job.modify(next_run_time=job.next_run_time.replace(year=job.next_run_time.year + 1))
    before = rounds(daemon)
    wait_for(lambda: rounds(daemon) >= before + 2)
    assert daemon.metrics.overdue_rounds.labels("prod", "slurmctld")._value.get() >= 1  # noqa: SLF001


def test_a_wall_clock_step_back_is_logged_and_probing_goes_on(start):
    offset = [0.0]
    clock = MonotonicClock(wall=lambda: time.time() + offset[0])
    daemon = start(config(), clock=clock)
    wait_for(lambda: rounds(daemon) >= 1)
    t_before = clock()
    offset[0] = -3600.0
    before = rounds(daemon)
    wait_for(lambda: rounds(daemon) >= before + 2)
    assert daemon.metrics.clock_steps._value.get() == 1  # noqa: SLF001
    assert daemon.metrics.clock_offset._value.get() == pytest.approx(-3600, abs=2)  # noqa: SLF001
    assert clock() > t_before  # the monitor's timeline did not run back
    status = daemon.box.get().clusters[0]
    assert status.last_probe_at is not None and status.last_probe_at >= t_before


def test_a_frozen_controller_does_not_hold_back_the_slurmdbd_verdict(start):
    """Issue 12: ping waits MessageTimeout (10 s) on a frozen controller; slurmdbd has its
    own lane, so its outage is confirmed at its usual pace while ping hangs."""
    runner = FakeRunner()
    daemon = start(with_accounting(config()), run=runner)
    wait_for(lambda: service_state(daemon, "slurmdbd") == "up")
    wait_for(lambda: service_state(daemon, "slurmctld") == "up")
    runner.hold("ping")
    assert runner.started["ping"].wait(5)
    ctl_rounds = rounds(daemon)
    runner.situation["stats"] = "22.05-both-dbd-killed"
    try:
        wait_for(lambda: service_state(daemon, "slurmdbd") == "down", seconds=8)
        assert "ping" in runner.gates, "ping answered: the test proved nothing"
        assert rounds(daemon) == ctl_rounds  # slurmctld's lane is still waiting on ping
        assert service_state(daemon, "slurmctld") == "up"  # no evidence: no change
    finally:
        runner.release("ping")
    runner.situation.pop("stats")
    wait_for(lambda: service_state(daemon, "slurmdbd") == "up")
    wait_for(lambda: rounds(daemon) >= ctl_rounds + 2)


def test_a_change_is_confirmed_by_rounds_pulled_forward_not_by_the_interval(start):
    """Fast confirmation: a round that sees an unconfirmed change pulls its lane's job
    forward by ``confirm_interval_seconds``; the verdict does not wait threshold x interval."""
    runner = FakeRunner()
    cfg = config(confirm_interval_seconds=0.5)
    cfg = dataclasses.replace(cfg, monitor=dataclasses.replace(cfg.monitor, interval_seconds=60))
    daemon = start(cfg, run=runner)
    wait_for(lambda: service_state(daemon, "slurmctld") == "up")
    runner.situation["ping"] = "22.05-both-killed"
    t0 = time.monotonic()
    daemon.cycle("prod", "slurmctld")  # sees both controllers down: not yet confirmed
    assert service_state(daemon, "slurmctld") == "up"
    wait_for(lambda: service_state(daemon, "slurmctld") == "down", seconds=20)
    assert time.monotonic() - t0 < 30  # long before the next scheduled round (60 s)
    confirms = daemon.metrics.confirm_rounds.labels("prod", "slurmctld")
    assert confirms._value.get() >= 1  # noqa: SLF001


def test_a_reload_that_replaces_a_clusters_health_keeps_what_it_had_not_decided(start):
    """A backup served, then no controller answers: the takeover grace holds the verdict.
    A reload that changes the cluster's config starts its health afresh; the new one must
    know nothing from where the old one had not decided (the ledger then records unknown
    there, not up)."""
    runner = FakeRunner()
    runner.situation["ping"] = "22.05-primary-killed-after-takeover"
    daemon = start(config(), run=runner)
    wait_for(lambda: service_state(daemon, "slurmctld") == "up" and rounds(daemon) >= 3)
    runner.situation["ping"] = "22.05-both-killed"
    held = daemon._clusters["prod"].health  # noqa: SLF001
    wait_for(lambda: held.status().undecided_since is not None)
    since = held.status().undecided_since
    assert service_state(daemon, "slurmctld") == "up"  # held by the grace
    cfg = config()
    changed = dataclasses.replace(cfg.clusters[0], slurm_bin=cfg.clusters[0].slurm_bin / "new")
    daemon.reload(dataclasses.replace(cfg, clusters=(changed,)))
    fresh = daemon._clusters["prod"].health  # noqa: SLF001
    assert fresh is not held
    assert fresh._started_at == since  # noqa: SLF001
