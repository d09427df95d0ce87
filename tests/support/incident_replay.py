"""A small stand-in for the cluster, replayed through the real hysteresis and alert engine
on a fake clock, and a receiver that keeps what it was told (see test_alert_incidents).

Each round turns which daemons live into the observation the verdict would make (ping per
line, the first answering controller serves, a standby slurmdbd does not listen), feeds
:class:`ClusterHealth` and the engine, and plays every notification into a receiver that
keeps, per alert, the last status it was told. The rounds follow the daemon's schedule: every
``interval_seconds``, and ``confirm_interval`` after a round that saw an unconfirmed change.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from monitor.alerting.engine import AlertEngine
from monitor.alerting.model import FIRING, Notification
from monitor.config import MonitorSettings
from monitor.health import ClusterHealth
from monitor.observation import (
    ActiveInstance,
    ClusterObservation,
    Condition,
    DaemonObservation,
    ProbeError,
    Reason,
    ServiceObservation,
    State,
)
from tests.support.alerting import T0, deliver_all

PROBE_SECONDS = 0.4  # a round's verdict (and the engine's evaluation) comes this much later
CONTROLLERS = (("ctl1", "primary"), ("ctl2", "backup"))
DBDS = (("dbd1", "primary"), ("dbd2", "backup"))


# munge: on the monitor's host; ctl1_link: ctl1's network link (cut: ctl1 runs on, unseen,
# and its heartbeat keeps the backup in standby)
HOSTS = ("ctl1", "ctl2", "dbd1", "dbd2", "db", "munge", "ctl1_link")


def observe(
    alive: dict[str, bool], at: dt.datetime, *, local_dbd2: bool = False
) -> ClusterObservation:
    """What the verdict makes of the lab when exactly the parts in ``alive`` work (a frozen
    or cut-off controller looks dead to ping; a cut-off primary also keeps the backup in
    standby). ``local_dbd2``: the monitor runs on dbd2's host with the local process check
    of slurmdbd."""
    if not alive["munge"]:
        return _blind(at)
    seen = {"ctl1": alive["ctl1"] and alive["ctl1_link"], "ctl2": alive["ctl2"]}
    standby = alive["ctl1"] and not alive["ctl1_link"]
    ctls = tuple(
        DaemonObservation(
            "slurmctld",
            h,
            r,
            State.UP if seen[h] else State.DOWN,
            (Reason.STANDBY if standby else None) if seen[h] else Reason.UNREACHABLE,
            0.01 if seen[h] else None,
        )
        for h, r in CONTROLLERS
    )
    serving = next((ActiveInstance(d.hostname, d.role) for d in ctls if d.answered), None)
    if serving is not None and standby:
        ctl = ServiceObservation(
            "slurmctld",
            State.DOWN,
            Condition.SPLIT_BRAIN_PROTECTION,
            False,
            False,
            None,
            Reason.STANDBY,
        )
    elif serving is None:
        ctl = ServiceObservation(
            "slurmctld",
            State.DOWN,
            Condition.NO_CONTROLLER,
            False,
            False,
            None,
            Reason.UNREACHABLE,
        )
    else:
        condition = Condition.OK if serving.role == "primary" else Condition.FAILOVER
        redundant = all(d.answered for d in ctls)
        ctl = ServiceObservation("slurmctld", State.UP, condition, True, redundant, serving)
    dbds = []
    for h, r in DBDS:
        if r != "primary" and alive["dbd1"]:
            # a standby does not listen: dead or alive, it cannot be told (Slurm 22.05)
            state, reason = State.UNKNOWN, Reason.STANDBY
        elif alive[h]:
            state, reason = State.UP, None
        else:
            state, reason = State.DOWN, Reason.UNREACHABLE
        if h == "dbd2" and local_dbd2:
            state, reason = (
                (State.DOWN, Reason.PROCESS_GONE)
                if not alive[h]
                else (State.UP if state is State.UNKNOWN else state, reason)
            )
        dbds.append(DaemonObservation("slurmdbd", h, r, state, reason))
    active_dbd = next((ActiveInstance(d.hostname, d.role) for d in dbds if d.answered), None)
    if active_dbd is None:
        dbd = ServiceObservation(
            "slurmdbd",
            State.DOWN,
            Condition.DBD_UNREACHABLE,
            False,
            False,
            None,
            Reason.UNREACHABLE,
        )
    elif not alive["db"]:
        dbd = ServiceObservation(
            "slurmdbd",
            State.DOWN,
            Condition.DATABASE_UNREACHABLE,
            False,
            None,
            active_dbd,
            Reason.DATABASE,
        )
    else:
        condition = Condition.OK if active_dbd.role == "primary" else Condition.FAILOVER
        redundant = False if any(d.state is State.DOWN for d in dbds) else None
        dbd = ServiceObservation("slurmdbd", State.UP, condition, True, redundant, active_dbd)
    return ClusterObservation("prod", at, (*ctls, *dbds), {"slurmctld": ctl, "slurmdbd": dbd})


def _blind(at: dt.datetime) -> ClusterObservation:
    """munge broken on the monitor's host: every command fails to authenticate."""
    daemons = tuple(
        DaemonObservation(d, h, r, State.UNKNOWN, Reason.AUTH)
        for d, hosts in (("slurmctld", CONTROLLERS), ("slurmdbd", DBDS))
        for h, r in hosts
    )
    services = {
        name: ServiceObservation(
            name, State.UNKNOWN, Condition.BLIND, None, None, None, Reason.AUTH
        )
        for name in ("slurmctld", "slurmdbd")
    }
    errors = (
        ProbeError("ping", "auth", "Munge encode failed", at),
        ProbeError("dbd_stats", "auth", "Protocol authentication error", at),
    )
    return ClusterObservation("prod", at, daemons, services, blind=True, errors=errors)


@dataclass
class Receiver:
    """Believes, per alert, the last status it was told (what Alertmanager's UI shows)."""

    told: dict[str, tuple[str, str]] = field(default_factory=dict)  # fp -> (name, status)
    log: list[tuple[dt.datetime, Notification]] = field(default_factory=list)

    def take(self, at: dt.datetime, notes: list[Notification]) -> None:
        for n in notes:
            self.log.append((at, n))
            for a in n.alerts:
                self.told[a.fingerprint] = (a.alertname, a.status)

    def firing(self) -> set[str]:
        return {name for name, status in self.told.values() if status == FIRING}

    def notices(self, alertname: str, status: str) -> list[tuple[dt.datetime, dict[str, str]]]:
        return [
            (at, dict(a.annotations))
            for at, n in self.log
            for a in n.alerts
            if a.alertname == alertname and a.status == status
        ]


class Replay:
    """The daemon's loop for one cluster, on a fake clock, against a scripted cluster."""

    def __init__(
        self, eng: AlertEngine, settings: MonitorSettings, *, local_dbd2: bool = False
    ) -> None:
        self.eng, self.settings, self.local_dbd2 = eng, settings, local_dbd2
        self.health = ClusterHealth("prod", settings, T0)
        self.alive = dict.fromkeys(HOSTS, True)
        self.receiver = Receiver()
        self.next_round = T0
        self.clock = T0
        self.firing_at: list[tuple[dt.datetime, set[str]]] = []  # after each round

    def run_until(self, until: dt.datetime) -> None:
        while self.next_round <= until:
            at = self.next_round
            self.clock = at
            obs = observe(self.alive, at, local_dbd2=self.local_dbd2)
            events = self.health.update(obs)
            now = at + dt.timedelta(seconds=PROBE_SECONDS)
            deliver_all(self.eng)
            self.receiver.take(now, self.eng.on_round(self.health.status(), events, now))
            self.firing_at.append((now, self.receiver.firing()))
            wait = (
                self.settings.confirm_interval_seconds
                if self.health.pending
                else self.settings.interval_seconds
            )
            self.next_round = at + dt.timedelta(seconds=wait)
        self.clock = until

    def at(self, seconds: float, **change: bool) -> None:
        """Run the rounds before ``T0 + seconds``, then kill (False) or restore (True)."""
        self.run_until(T0 + dt.timedelta(seconds=seconds) - dt.timedelta(microseconds=1))
        self.alive.update(change)

    def firing_since(self, when: dt.datetime) -> list[tuple[dt.datetime, set[str]]]:
        return [(t, f) for t, f in self.firing_at if t >= when]


def settled_by(replay: Replay, recovered: float, bound: float) -> dt.datetime | None:
    """When the receiver last stopped believing anything fires, if by ``bound`` seconds
    after the recovery at ``recovered`` s (None: something was still firing then)."""
    start = T0 + dt.timedelta(seconds=recovered)
    end = start + dt.timedelta(seconds=bound)
    rounds = [(t, f) for t, f in replay.firing_since(start) if t <= end]
    clear = [t for t, f in rounds if not f]
    return clear[0] if clear and not rounds[-1][1] else None
