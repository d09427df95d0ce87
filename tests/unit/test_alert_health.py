"""The engine fed by the real health state machine (hysteresis, backdating, failover
tracking), round by round as the daemon does: the scenarios the cluster tests check."""

from __future__ import annotations

import datetime as dt

from freezegun import freeze_time

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
from tests.support.alerting import T0, deliver_all, engine, names

UP, DOWN, UNKNOWN = State.UP, State.DOWN, State.UNKNOWN


def observe(primary: State, backup: State, *, blind: bool = False) -> ClusterObservation:
    now = dt.datetime.now(dt.UTC)
    if blind:
        ds = (
            DaemonObservation("slurmctld", "ctl1", "primary", UNKNOWN, Reason.AUTH),
            DaemonObservation("slurmctld", "ctl2", "backup", UNKNOWN, Reason.AUTH),
        )
        svc = ServiceObservation(
            "slurmctld", UNKNOWN, Condition.BLIND, None, None, None, Reason.AUTH
        )
        err = (ProbeError("ping", "auth", "Invalid credential", now),)
        return ClusterObservation("prod", now, ds, {"slurmctld": svc}, blind=True, errors=err)
    ds = tuple(
        DaemonObservation(
            "slurmctld", h, r, s, None if s is UP else Reason.UNREACHABLE, 0.01 if s is UP else None
        )
        for h, r, s in (("ctl1", "primary", primary), ("ctl2", "backup", backup))
    )
    if primary is UP:
        svc = ServiceObservation(
            "slurmctld", UP, Condition.OK, True, backup is UP, ActiveInstance("ctl1", "primary")
        )
    elif backup is UP:
        svc = ServiceObservation(
            "slurmctld", UP, Condition.FAILOVER, True, False, ActiveInstance("ctl2", "backup")
        )
    else:
        svc = ServiceObservation("slurmctld", DOWN, Condition.NO_CONTROLLER, False, False)
    return ClusterObservation("prod", now, ds, {"slurmctld": svc})


class Run:
    def __init__(self, tmp_path, frozen) -> None:
        self.health = ClusterHealth("prod", MonitorSettings(), T0)
        self.engine = engine(tmp_path)
        self.frozen = frozen
        self.sent: list = []

    def rounds(self, n: int, *state, **kw) -> list:
        out = []
        for _ in range(n):
            self.frozen.tick(dt.timedelta(seconds=1))
            events = self.health.update(observe(*state, **kw))
            now = dt.datetime.now(dt.UTC)
            out += self.engine.on_round(self.health.status(), events, now)
            deliver_all(self.engine)
        self.sent += out
        return out


def test_killing_the_primary_fires_failover_and_not_down(tmp_path):
    with freeze_time(T0) as frozen:
        run = Run(tmp_path, frozen)
        assert run.rounds(3, UP, UP) == []
        (n,) = run.rounds(4, DOWN, UP)
        assert names(n) == [("SlurmctldFailover", "firing")]
        assert n.alerts[0].labels["host"] == "ctl2"
        (back,) = run.rounds(4, UP, UP)
        assert names(back) == [("SlurmctldFailover", "resolved")]
        assert back.alerts[0].ends_at > back.alerts[0].starts_at


def test_killing_both_controllers_is_one_grouped_down_resolved_after_restore(tmp_path):
    with freeze_time(T0) as frozen:
        run = Run(tmp_path, frozen)
        run.rounds(3, UP, UP)
        (n,) = run.rounds(4, DOWN, DOWN)
        assert names(n) == [("SlurmctldDown", "firing")]
        assert n.alerts[0].starts_at == T0 + dt.timedelta(seconds=4)  # the first failed probe
        (back,) = run.rounds(4, UP, UP)
        assert names(back) == [("SlurmctldDown", "resolved")]
        assert len(run.sent) == 2


def test_stopping_munge_fires_blind_only(tmp_path):
    with freeze_time(T0) as frozen:
        run = Run(tmp_path, frozen)
        run.rounds(3, UP, UP)
        (n,) = run.rounds(4, UP, UP, blind=True)
        assert names(n) == [("SlurmMonitorBlind", "firing")]
        (back,) = run.rounds(4, UP, UP)
        assert names(back) == [("SlurmMonitorBlind", "resolved")]


def test_a_single_bad_round_fires_nothing(tmp_path):
    with freeze_time(T0) as frozen:
        run = Run(tmp_path, frozen)
        run.rounds(3, UP, UP)
        for state in ((DOWN, DOWN), (UP, UP), (DOWN, UP), (UP, UP)):
            assert run.rounds(1, *state) == []
        assert run.rounds(1, UP, UP, blind=True) == [] and run.rounds(3, UP, UP) == []
