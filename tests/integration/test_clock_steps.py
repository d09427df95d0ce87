"""Wall-clock steps of one hour, back and forward, in the middle of an outage: probing goes
on and the ledger counts the outage's real length (issue 12 #6).

The real daemon, scheduler and ledger on a temporary store; Slurm answers from recorded
22.05 output; the wall clock the monitor reads is the machine's plus an offset the test
steps. Needs no root."""

from __future__ import annotations

import time
from pathlib import Path

from prometheus_client import CollectorRegistry

from monitor.clock import MonotonicClock
from monitor.config import (
    ClusterConfig,
    Config,
    MonitorSettings,
    SlaSettings,
    SloTargets,
    Thresholds,
)
from monitor.daemon import Daemon
from monitor.ledger.ledger import Ledger
from monitor.ledger.query import service_period
from monitor.ledger.sla import Policy
from monitor.ledger.store import LedgerStore, open_database
from monitor.reasons import Reason
from monitor.runner import CommandResult
from tests.support.fakes import FakeRunner, recorded, wait_for

US = 1_000_000
INTERVAL = 1.0


def rounds(daemon: Daemon) -> float:
    return daemon.metrics.rounds.labels("prod", "slurmctld")._value.get()  # noqa: SLF001


class OutageRunner(FakeRunner):
    """Both controllers down while ``down`` is set, as real 22.05 says it."""

    down = False

    def __call__(self, argv, *, timeout, env=None, stdin=None) -> CommandResult:
        if not self.down:
            return super().__call__(argv, timeout=timeout, env=env, stdin=stdin)
        if self.key(argv) == "ping":
            return CommandResult(tuple(argv), 1, recorded("ping", "22.05-both-killed"), "",
                                 0.01, None)
        return CommandResult(tuple(argv), 1, "", "Unable to contact slurm controller "
                             "(connect failure)", 0.01, Reason.UNREACHABLE,
                             "Unable to contact slurm controller")


def test_an_hour_back_and_forward_mid_outage_changes_nothing(tmp_path: Path):
    settings = MonitorSettings(interval_seconds=INTERVAL, jitter_seconds=0.0,
                               state_dir=tmp_path)
    config = Config(settings, (ClusterConfig(name="prod", accounting=False),),
                    SloTargets(), SlaSettings(), Thresholds())
    offset = [0.0]
    clock = MonotonicClock(wall=lambda: time.time() + offset[0])
    ledger = Ledger(config, lambda: open_database(tmp_path), clock=clock)
    runner = OutageRunner()
    daemon = Daemon(config, CollectorRegistry(), clock=clock, run=runner, sinks=[ledger])
    t_begin = clock()
    daemon.start()
    try:
        wait_for(lambda: rounds(daemon) >= 3)
        runner.down = True
        down_at = time.monotonic()
        n = rounds(daemon)
        wait_for(lambda: rounds(daemon) >= n + 3)
        offset[0] -= 3600  # back one hour
        n = rounds(daemon)
        wait_for(lambda: rounds(daemon) >= n + 3)  # probing did not pause for the hour
        offset[0] += 7200  # forward two: one hour ahead of where it started
        n = rounds(daemon)
        wait_for(lambda: rounds(daemon) >= n + 3)
        runner.down = False
        outage = time.monotonic() - down_at
        n = rounds(daemon)
        wait_for(lambda: rounds(daemon) >= n + 4)
    finally:
        daemon.stop()
        ledger.close()
    assert daemon.metrics.clock_steps._value.get() == 2  # noqa: SLF001
    store = LedgerStore(open_database(tmp_path))
    try:
        period = service_period(store, "prod", "slurmctld", int(t_begin.timestamp() * US),
                                int(clock().timestamp() * US) + 60 * US,
                                Policy.from_settings(config.sla), 0.999)
    finally:
        store.db.close()
    counted = period.breakdown.downtime_us / US
    # Either end of the count is late by up to a round (detection), plus the scheduler's
    # slack on a busy machine; a step that leaked into the count would show as 3600 s.
    assert abs(counted - outage) <= INTERVAL + 1.0, (counted, outage)
    assert period.breakdown.unknown_us / US > 3000  # the hour jumped over is unknown
