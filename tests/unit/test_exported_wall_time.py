"""Timestamps exported for a scraper are on the wall clock. After a wall-clock step back the
monitor's own timeline runs ahead of the wall clock by the step (monitor/clock.py); exported
as is, slurm_sla_last_probe_timestamp_seconds sat an hour in Prometheus's future, so the
SlurmMonitorStale rule (time() - last probe > 180 s) could not fire for an hour after the
monitor hung."""

from __future__ import annotations

import time

import pytest
from prometheus_client import CollectorRegistry

from exporters.collectors import register_all
from monitor.clock import MonotonicClock
from monitor.daemon import Daemon
from tests.support.daemon_round import config, rounds
from tests.support.fakes import FakeRunner, wait_for


def _sample(registry: CollectorRegistry, name: str) -> float:
    for family in registry.collect():
        for s in family.samples:
            if s.name == name:
                return s.value
    raise AssertionError(f"{name} not exported")


@pytest.mark.parametrize("step", [-3600.0, 0.0])
def test_exported_timestamps_follow_the_wall_clock_after_a_step_back(step):
    offset = [0.0]
    clock = MonotonicClock(wall=lambda: time.time() + offset[0])
    daemon = Daemon(config(), CollectorRegistry(), run=FakeRunner(), clock=clock)
    registry = CollectorRegistry()
    register_all(registry, daemon.box.get)
    daemon.start()
    try:
        wait_for(lambda: rounds(daemon) >= 1)
        offset[0] = step
        before = rounds(daemon)
        wait_for(lambda: rounds(daemon) >= before + 1)
        daemon.publish()
        wall = time.time() + step
        last = _sample(registry, "slurm_sla_last_probe_timestamp_seconds")
        since = _sample(registry, "slurm_daemon_state_since_timestamp_seconds")
    finally:
        daemon.stop(wait=False)
    assert wall - 5 <= last <= wall + 0.5  # a round just ran: "now" on the wall clock
    assert since <= last
