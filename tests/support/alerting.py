"""Builders shared by the alerting tests: cluster states after hysteresis, an engine on a
throw-away store, a notification, and a fake receiver that records what it is given."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from monitor.alerting.engine import AlertEngine
from monitor.alerting.grouping import ReceiverPolicy
from monitor.alerting.model import AlertNotice, Notification
from monitor.alerting.providers.base import Delivery, ProviderSpec, ReceiverOptions, SendContext
from monitor.alerting.schema import MIGRATION
from monitor.alerting.sender import Receiver
from monitor.alerting.settings import AlertSettings
from monitor.config import Thresholds
from monitor.observation import (
    ActiveInstance,
    ClusterObservation,
    Condition,
    ProbeError,
    Reason,
    State,
)
from monitor.snapshot import ClusterStatus, DaemonStatus, ServiceStatus
from monitor.store.db import Database

T0 = dt.datetime(2026, 11, 26, 10, 0, tzinfo=dt.UTC)
# The alert collector's exposition, pinned by its unit test and checked by promtool.
EXPOSITION_GOLDEN = Path(__file__).parents[1] / "unit" / "golden" / "alerting" / "exposition.prom"
UP, DOWN, DEGRADED, UNKNOWN = State.UP, State.DOWN, State.DEGRADED, State.UNKNOWN


def db_at(path: Path) -> Database:
    """A store with only the alerting migration (the ledger's is not needed here)."""
    return Database(path / "alerts.sqlite3", migrations=[MIGRATION])


def status(
    name: str = "prod",
    *,
    ctl1: State = UP,
    ctl2: State = UP,
    dbd1: State | None = UP,
    dbd2: State | None = UP,
    serving: str | None = "default",
    ctl_condition: str | None = None,
    dbd_state: State | None = None,
    dbd_condition: str = "ok",
    blind: str | None = None,  # "auth": both services unknown, blind
    latency: float | None = 0.01,
    stats: dict | None = None,
    since: dt.datetime = T0,
    started: bool = False,  # the monitor has just started: nothing confirmed yet
) -> ClusterStatus:
    """A cluster's status after hysteresis, with the serving controller derived."""
    if serving == "default":
        serving = "ctl1" if ctl1 in (UP, DEGRADED) else "ctl2" if ctl2 in (UP, DEGRADED) else None
    if blind or started:
        ctl1 = ctl2 = UNKNOWN
        dbd1 = UNKNOWN if dbd1 else None
        dbd2 = UNKNOWN if dbd2 else None
        serving = None
    reason = Reason(blind) if blind else None
    cause = "monitor started" if started else "x"
    daemons = [
        DaemonStatus("slurmctld", "ctl1", "primary", ctl1, since, reason, ctl1 is UP, latency),
        DaemonStatus("slurmctld", "ctl2", "backup", ctl2, since, reason, ctl2 is UP, latency),
    ]
    if dbd1 is not None:
        daemons.append(DaemonStatus("slurmdbd", "dbd1", "primary", dbd1, since, reason, None, None))
    if dbd2 is not None:
        daemons.append(DaemonStatus("slurmdbd", "dbd2", "backup", dbd2, since, reason, None, None))
    active = (
        ActiveInstance(serving, "primary" if serving == "ctl1" else "backup") if serving else None
    )
    if blind or started:
        ctl_state, condition = UNKNOWN, "blind" if blind else "ok"
    elif active is None:
        ctl_state, condition = DOWN, ctl_condition or "no_controller"
    else:
        served = ctl1 if serving == "ctl1" else ctl2
        ctl_state = DEGRADED if served is DEGRADED else UP
        condition = ctl_condition or ("ok" if serving == "ctl1" else "failover")
    services = {
        "slurmctld": ServiceStatus(
            "slurmctld", ctl_state, since, cause, None, active, Condition(condition)
        )
    }
    if dbd1 is not None:
        if blind or started:
            dstate, dcond = UNKNOWN, "blind" if blind else "ok"
        else:
            dstate = dbd_state or (UP if dbd1 is UP or dbd2 is UP else DOWN)
            dcond = (
                dbd_condition if dstate is not DOWN or dbd_condition != "ok" else "dbd_unreachable"
            )
        dbd_active = None
        if dstate is not DOWN and not (blind or started):
            for host, role, state in (("dbd1", "primary", dbd1), ("dbd2", "backup", dbd2)):
                if state in (UP, DEGRADED):  # the first that answers serves, as in the verdict
                    dbd_active = ActiveInstance(host, role)
                    break
            if dbd_active is not None and dbd_active.role != "primary" and dcond == "ok":
                dcond = "failover"
        services["slurmdbd"] = ServiceStatus(
            "slurmdbd", dstate, since, cause, None, dbd_active, Condition(dcond)
        )
    errors = (ProbeError("ping", Reason(blind), "munge: Invalid credential"),) if blind else ()
    obs = ClusterObservation(
        name, since, (), {}, statistics=stats, blind=bool(blind), errors=errors
    )
    return ClusterStatus(name, since, obs, tuple(daemons), services, {}, 0, {})


def engine(
    tmp_path: Path,
    settings: AlertSettings | None = None,
    receivers: tuple[str, ...] = ("oncall",),
    **kwargs,
) -> AlertEngine:
    policies = kwargs.pop("policies", None) or [ReceiverPolicy(r) for r in receivers]
    return AlertEngine(
        db_at(tmp_path), settings or AlertSettings(), Thresholds(), policies, **kwargs
    )


def note(group: str = "prod", status: str = "firing", receiver: str = "r") -> Notification:
    """One notification of one alert, for the outbox and its sender."""
    alert = AlertNotice(
        "f" * 16,
        f"{group}/X/x",
        status,
        {"alertname": "X", "cluster": group},
        {"summary": "s"},
        T0,
        T0 if status == "resolved" else None,
    )
    return Notification(receiver, f'{{}}:{{cluster="{group}"}}', {"cluster": group}, (alert,), T0)


def names(n: Notification) -> list[tuple[str, str]]:
    return [(a.alertname, a.status) for a in n.alerts]


@dataclass
class FakeSend:
    """A provider whose outcomes are scripted; it records every notification it gets."""

    outcomes: list[Delivery] = field(default_factory=list)
    got: list[tuple[dt.datetime, Notification]] = field(default_factory=list)

    def __call__(self, options: ReceiverOptions, n: Notification, ctx: SendContext) -> Delivery:
        self.got.append((ctx.now, n))
        return self.outcomes.pop(0) if self.outcomes else Delivery(True, 200)


def fake_receiver(name: str, send: FakeSend, max_per_minute: int = 0) -> Receiver:
    spec = ProviderSpec("fake", ReceiverOptions, lambda o, n, now: {}, send)
    return Receiver(name, spec, ReceiverOptions(max_per_minute=max_per_minute))


def deliver_all(eng: AlertEngine) -> None:
    """Mark every queued notification delivered (no sender in engine tests)."""
    for item in eng.outbox.items("pending"):
        eng.outbox.mark_sent(item.id, item.created_at, 200)
