"""A known month in the ledger, built the way the daemon builds it (ClusterHealth's
HealthEvents into the real Ledger, time driven by freezegun), shared by the report tests;
its figures worked out by hand (EXPECTED), the fixtures that hold it, and its report.

October 2026 in Europe/Berlin: 2026-09-30T22:00Z to 2026-10-31T23:00Z, 745 hours (the
clocks go back on the 25th). The monitor runs from 2026-09-30T20:00Z to 2026-11-02T00:00Z
at a 10-minute quiet step (30 s around changes); every change is seen by the first round
at its instant and confirmed by the next (failure and recovery thresholds of 2).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from freezegun import freeze_time

from monitor.config import load_config
from monitor.health import ClusterHealth
from monitor.ledger.ledger import Ledger
from monitor.ledger.maintenance import StoredWindow
from monitor.ledger.store import LedgerStore
from monitor.ledger.timebase import to_us
from monitor.observation import (
    ActiveInstance,
    ClusterObservation,
    Condition,
    DaemonObservation,
    Reason,
    ServiceObservation,
    State,
)
from monitor.report.assemble import build_report, config_digest
from monitor.statestore import MIGRATIONS
from monitor.store.db import Database

UTC = dt.UTC
MONTH = (2026, 10)
NOW = dt.datetime(2026, 11, 2, 0, 0, tzinfo=UTC)  # when the report is made
QUIET = dt.timedelta(minutes=10)
CLOSE = dt.timedelta(seconds=30)
MONTH_SECONDS = 745 * 3600

# The config is written with a relative state_dir, so its bytes (and digest) are the same
# wherever the test runs: the tests run in the directory that holds it.
CONFIG = """\
[monitor]
state_dir = "state"
interval_seconds = 300

[[clusters]]
name = "prod"

[slo]
slurmctld = 99.9
slurmdbd = 99.5

[sla]
timezone = "Europe/Berlin"

[[maintenance]]
start = 2026-10-14T01:00:00Z
end = 2026-10-14T03:00:00Z
clusters = ["prod"]
services = ["slurmdbd"]
reason = "MariaDB upgrade"
"""


def at(day: int, hour: int, minute: int = 0, second: int = 0, month: int = 10) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, second, tzinfo=UTC)


# (from, until, slurmctld, slurmdbd, step): what every round in [from, until) shows.
# slurmctld: up | failover | down | split | blind; slurmdbd: up | down | db | blind.
# None for the states: the monitor is not running.
SCRIPT = [
    (at(30, 20, month=9), at(3, 10), "up", "up", QUIET),
    (at(3, 10), at(3, 10, 12, 30), "down", "up", CLOSE),  # both controllers down, 750 s
    (at(3, 10, 12, 30), at(7, 8), "up", "up", QUIET),
    (at(7, 8), at(7, 8, 40), "failover", "up", CLOSE),  # a failover: not downtime
    (at(7, 8, 40), at(10, 14), "up", "up", QUIET),
    (at(10, 14), at(10, 14, 5), "blind", "blind", CLOSE),  # munge broken here: 300 s unknown
    (at(10, 14, 5), at(14, 1, 10), "up", "up", QUIET),
    (at(14, 1, 10), at(14, 3, 20), "up", "db", CLOSE),  # window 01:00-03:00: 1200 s counted
    (at(14, 3, 20), at(20, 12), "up", "up", QUIET),
    # The monitor is killed after its 11:50 round and restarted at 12:30: 2400 s absent.
    (at(20, 12), at(20, 12, 30), None, None, None),
    (at(20, 12, 30), at(21, 6, 10), "up", "up", QUIET),
    (at(21, 6, 10), at(21, 6, 20), "down", "up", CLOSE),  # inside the CLI window: not counted
    (at(21, 6, 20), at(25, 0, 30), "up", "up", QUIET),
    (at(25, 0, 30), at(25, 1, 30), "up", "down", CLOSE),  # slurmdbd unreachable, 3600 s
    (at(25, 1, 30), at(28, 9), "up", "up", QUIET),
    (at(28, 9), at(28, 9, 50), "split", "up", CLOSE),  # split-brain protection, 3000 s
    (at(28, 9, 50), at(31, 22, 55), "up", "up", QUIET),
    (at(31, 22, 55), at(31, 23, 5), "down", "up", CLOSE),  # across the month's end: 300 s
    (at(31, 23, 5), NOW, "up", "up", QUIET),
]
CLI_WINDOW = (at(21, 6), at(21, 7), "kernel update on ctl1 and ctl2")

EXPECTED = {
    # service: downtime, maintenance, unknown (seconds)
    "slurmctld": (750 + 3000 + 300, 3600, 300 + 2400),
    "slurmdbd": (1200 + 3600, 7200, 300 + 2400),
}


def _daemon(daemon, host, role, up, reason=Reason.UNREACHABLE):
    if up is None:
        return DaemonObservation(daemon, host, role, State.UNKNOWN, Reason.AUTH)
    return DaemonObservation(daemon, host, role, State.UP if up else State.DOWN,
                             None if up else reason)  # fmt: skip


def observe(ctl: str, dbd: str, when: dt.datetime) -> ClusterObservation:
    primary = ActiveInstance("ctl1", "primary")
    ctl_daemons = {
        "up": (True, True), "failover": (False, True), "down": (False, False),
        "split": (False, False), "blind": (None, None),
    }[ctl]  # fmt: skip
    ctl_service = {
        "up": ServiceObservation("slurmctld", State.UP, Condition.OK, True, True, primary),
        "failover": ServiceObservation("slurmctld", State.UP, Condition.FAILOVER, True, False,
                                       ActiveInstance("ctl2", "backup")),
        "down": ServiceObservation("slurmctld", State.DOWN, Condition.NO_CONTROLLER, False, False),
        "split": ServiceObservation("slurmctld", State.DOWN, Condition.SPLIT_BRAIN_PROTECTION,
                                    False, False),
        "blind": ServiceObservation("slurmctld", State.UNKNOWN, Condition.BLIND, None, None),
    }[ctl]  # fmt: skip
    dbd_up = {"up": True, "down": False, "db": True, "blind": None}[dbd]
    dbd_service = {
        "up": ServiceObservation("slurmdbd", State.UP, Condition.OK, True, None,
                                 ActiveInstance("dbd1", "primary")),
        "down": ServiceObservation("slurmdbd", State.DOWN, Condition.DBD_UNREACHABLE, False,
                                   False),
        "db": ServiceObservation("slurmdbd", State.DOWN, Condition.DATABASE_UNREACHABLE, False,
                                 None, ActiveInstance("dbd1", "primary"), Reason.DATABASE),
        "blind": ServiceObservation("slurmdbd", State.UNKNOWN, Condition.BLIND, None, None),
    }[dbd]  # fmt: skip
    daemons = (
        _daemon("slurmctld", "ctl1", "primary", ctl_daemons[0]),
        _daemon("slurmctld", "ctl2", "backup", ctl_daemons[1]),
        _daemon("slurmdbd", "dbd1", "primary", dbd_up, Reason.DATABASE),
    )
    services = {"slurmctld": ctl_service, "slurmdbd": dbd_service}
    return ClusterObservation("prod", when, daemons, services, blind=ctl == "blind")


def now() -> dt.datetime:
    return dt.datetime.now(UTC)


def drive(config_path: Path) -> None:
    """Run the monitor through SCRIPT (a new run after each stop), as the daemon would."""
    cfg = load_config(config_path)
    state_dir = cfg.monitor.state_dir
    with freeze_time(SCRIPT[0][0]) as frozen:
        ledger = health = None
        for start, until, ctl, dbd, step in SCRIPT:
            frozen.move_to(start)
            if ctl is None:
                ledger = health = None  # SIGKILL: nothing is closed
                continue
            if ledger is None:
                ledger = Ledger(
                    cfg, lambda: Database.in_dir(state_dir, migrations=MIGRATIONS), clock=now
                )
                health = ClusterHealth("prod", cfg.monitor, now())
            t = start
            while t < until:
                frozen.move_to(t)
                events = health.update(observe(ctl, dbd, t))
                ledger.on_round(health.status(), events, t)
                t += step
            assert ledger.healthy
        frozen.move_to(CLI_WINDOW[0] - dt.timedelta(days=3))
        store = LedgerStore(Database.in_dir(state_dir, migrations=MIGRATIONS))
        store.add_window(
            StoredWindow(0, "cli", to_us(CLI_WINDOW[0]), to_us(CLI_WINDOW[1]), ("prod",),
                         ("slurmctld",), CLI_WINDOW[2], "none", None, "Europe/Berlin",
                         to_us(now()), "alice@admin1"),
            CLI_WINDOW[2],
        )  # fmt: skip
        ledger.close()
        store.db.close()


@contextlib.contextmanager
def inside(directory: Path) -> Iterator[None]:
    old = Path.cwd()
    os.chdir(directory)
    try:
        yield
    finally:
        os.chdir(old)


@pytest.fixture(scope="session")
def october(tmp_path_factory) -> Path:
    """A directory holding config.toml and state/ with the month above."""
    root = tmp_path_factory.mktemp("report-ledger")
    (root / "config.toml").write_text(CONFIG)
    with inside(root):
        drive(Path("config.toml"))
    return root


@pytest.fixture
def in_october(october) -> Iterator[Path]:
    with inside(october):
        yield october


def report_of(month=(2026, 10), config="config.toml"):
    """The known month's report, with the known ledger and ``config`` (a file beside it)."""
    cfg = load_config(config)
    store = LedgerStore(Database.in_dir(cfg.monitor.state_dir, migrations=MIGRATIONS))
    try:
        return build_report(store, cfg, *month, config_sha256=config_digest(b""), now=NOW)
    finally:
        store.db.close()
