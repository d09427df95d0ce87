"""Policy tables and the pure decisions that use them: inhibition, routing, and the
default maintenance silence (from the config's ``[[maintenance]]`` windows)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from monitor.alerting.settings import Route
from monitor.config import MaintenanceWindow

# (cluster, service, now) -> truthy while in maintenance (the ledger returns the window)
InMaintenance = Callable[[str, str, dt.datetime], object]

_CTL = (
    "SlurmctldDown",
    "SlurmctldFailover",
    "SlurmctldBackupDown",
    "SlurmctldSlow",
    "SlurmctldOverloaded",
)


@dataclass(frozen=True)
class Inhibition:
    """A firing ``source`` mutes ``targets`` that agree with it on every ``equal`` label."""

    source: str
    targets: frozenset[str]
    equal: tuple[str, ...] = ("cluster",)
    source_match: Mapping[str, str] = field(default_factory=dict)
    target_match: Mapping[str, str] = field(default_factory=dict)

    def mutes(self, source: Mapping[str, str], target: Mapping[str, str]) -> bool:
        return (
            source.get("alertname") == self.source
            and target.get("alertname") in self.targets
            and source is not target
            and all(source.get(k) == v for k, v in self.source_match.items())
            and all(target.get(k) == v for k, v in self.target_match.items())
            and all(source.get(k) == target.get(k) for k in self.equal)
        )


INHIBITIONS: tuple[Inhibition, ...] = (
    # No controller at all: a failover, a down backup or slowness are noise beside it.
    Inhibition(
        "SlurmctldDown",
        frozenset(
            {"SlurmctldFailover", "SlurmctldBackupDown", "SlurmctldSlow", "SlurmctldOverloaded"}
        ),
    ),
    Inhibition(
        "SlurmdbdDown",
        frozenset({"SlurmdbdFailover", "SlurmdbdBackupDown", "SlurmdbdAgentQueueBacklog"}),
    ),
    # What the monitor cannot see, it cannot claim: blindness mutes the service's alerts.
    Inhibition(
        "SlurmMonitorBlind",
        frozenset({*_CTL, "SlurmdbdAgentQueueBacklog"}),
        source_match={"service": "slurmctld"},
    ),
    Inhibition(
        "SlurmMonitorBlind",
        frozenset({"SlurmdbdDown", "SlurmdbdFailover", "SlurmdbdBackupDown"}),
        source_match={"service": "slurmdbd"},
    ),
    # A page for the budget makes the ticket for the same budget redundant.
    Inhibition(
        "SlurmSLABudgetBurn",
        frozenset({"SlurmSLABudgetBurn"}),
        ("cluster", "service"),
        {"urgency": "page"},
        {"urgency": "ticket"},
    ),
)


def inhibited(
    firing: Sequence[Mapping[str, str]],
    target: Mapping[str, str],
    rules: Iterable[Inhibition] = INHIBITIONS,
) -> bool:
    return any(rule.mutes(src, target) for rule in rules for src in firing)


def route(
    labels: Mapping[str, str], routes: Sequence[Route], receivers: Sequence[str]
) -> tuple[str, ...]:
    """The receivers an alert goes to: every route that matches (no routes: everyone)."""
    if not routes:
        return tuple(receivers)
    chosen = {name for r in routes if r.matches(labels) for name in r.receivers}
    return tuple(name for name in receivers if name in chosen)


def window_covers(w: MaintenanceWindow, cluster: str, service: str, now: dt.datetime) -> bool:
    if w.clusters is not None and cluster not in w.clusters:
        return False
    if w.services is not None and service and service not in w.services:
        return False
    if w.until is not None and now >= w.until:
        return False
    period = {"daily": dt.timedelta(days=1), "weekly": dt.timedelta(days=7)}.get(w.repeat)
    if period is None:
        return w.start <= now < w.end
    if now < w.start:
        return False
    k = (now - w.start) // period
    start = w.start + k * period
    return start <= now < start + (w.end - w.start)


def maintenance_from_windows(windows: Sequence[MaintenanceWindow]) -> InMaintenance:
    """The default silence: the config's windows (the ledger may offer the stored ones too)."""

    def in_maintenance(cluster: str, service: str, now: dt.datetime) -> bool:
        return any(window_covers(w, cluster, service, now) for w in windows)

    return in_maintenance
