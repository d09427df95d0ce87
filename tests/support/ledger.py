"""The ledger as the daemon drives it, for the ledger tests: a config, observations of a
controller pair (up, failed over, down, blind) and one run of the monitor (a Ledger and a
ClusterHealth) stepping its rounds on a freezegun clock."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from monitor.config import parse_config
from monitor.health import ClusterHealth
from monitor.ledger.ledger import Ledger
from monitor.observation import (
    ActiveInstance,
    ClusterObservation,
    Condition,
    DaemonObservation,
    Reason,
    ServiceObservation,
    State,
)
from monitor.statestore import MIGRATIONS
from monitor.store.db import Database

T0 = dt.datetime(2026, 11, 26, 10, 0, tzinfo=dt.UTC)
STEP = dt.timedelta(seconds=10)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def config(state_dir: Path, extra: str = ""):
    return parse_config(
        f"""
[monitor]
state_dir = "{state_dir}"
interval_seconds = 10
[[clusters]]
name = "prod"
accounting = false
[slo]
slurmctld = 99.9
{extra}
"""
    )


def observe(primary: bool | None, backup: bool = False) -> ClusterObservation:
    """primary/backup answering; primary None: the monitor is blind."""
    t = now()
    if primary is None:
        daemons = (
            DaemonObservation("slurmctld", "ctl1", "primary", State.UNKNOWN, Reason.AUTH),
            DaemonObservation("slurmctld", "ctl2", "backup", State.UNKNOWN, Reason.AUTH),
        )
        svc = ServiceObservation("slurmctld", State.UNKNOWN, Condition.BLIND, None, None)
        return ClusterObservation("prod", t, daemons, {"slurmctld": svc}, blind=True)

    def d(host, role, up):
        return DaemonObservation(
            "slurmctld", host, role, State.UP if up else State.DOWN,
            None if up else Reason.UNREACHABLE,
        )  # fmt: skip

    daemons = (d("ctl1", "primary", primary), d("ctl2", "backup", backup))
    if primary:
        svc = ServiceObservation("slurmctld", State.UP, Condition.OK, True, backup,
                                 ActiveInstance("ctl1", "primary"))  # fmt: skip
    elif backup:
        svc = ServiceObservation("slurmctld", State.UP, Condition.FAILOVER, True, False,
                                 ActiveInstance("ctl2", "backup"))  # fmt: skip
    else:
        svc = ServiceObservation("slurmctld", State.DOWN, Condition.NO_CONTROLLER, False, False)
    return ClusterObservation("prod", t, daemons, {"slurmctld": svc})


def observe_lanes(at: dt.datetime, ctl_up: bool) -> ClusterObservation:
    """Both services: slurmctld served by the primary or split-brain protection (the
    primary cut off), slurmdbd up."""
    ctl1 = DaemonObservation("slurmctld", "ctl1", "primary", State.UP if ctl_up else
                             State.DOWN, None if ctl_up else Reason.UNREACHABLE)  # fmt: skip
    ctl2 = DaemonObservation("slurmctld", "ctl2", "backup", State.UP,
                             None if ctl_up else Reason.STANDBY)  # fmt: skip
    dbd1 = DaemonObservation("slurmdbd", "dbd1", "primary", State.UP, None)
    if ctl_up:
        ctl = ServiceObservation("slurmctld", State.UP, Condition.OK, True, True,
                                 ActiveInstance("ctl1", "primary"))  # fmt: skip
    else:
        ctl = ServiceObservation("slurmctld", State.DOWN, Condition.SPLIT_BRAIN_PROTECTION,
                                 False, False, None, Reason.STANDBY)  # fmt: skip
    dbd = ServiceObservation("slurmdbd", State.UP, Condition.OK, True, None,
                             ActiveInstance("dbd1", "primary"))  # fmt: skip
    return ClusterObservation("prod", at, (ctl1, ctl2, dbd1), {"slurmctld": ctl, "slurmdbd": dbd})


class Monitor:
    """One run of the monitor: a ledger and a health state machine, as the daemon has."""

    def __init__(self, cfg, frozen, connect=None, **kw) -> None:
        self.cfg, self.frozen = cfg, frozen
        state_dir = cfg.monitor.state_dir
        self.ledger = Ledger(
            cfg,
            connect or (lambda: Database.in_dir(state_dir, migrations=MIGRATIONS)),
            clock=now,
            **kw,
        )
        self.health = ClusterHealth("prod", cfg.monitor, now())

    def rounds(self, n: int, primary: bool | None = True, backup: bool = False) -> None:
        for _ in range(n):
            self.frozen.tick(STEP)
            events = self.health.update(observe(primary, backup))
            self.ledger.on_round(self.health.status(), events, now())

    def figures(self):
        (f,) = self.ledger.figures(now())
        return f
