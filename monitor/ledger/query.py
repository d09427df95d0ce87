"""The SLA of one service over an interval, from the store: the breakdown, the error
budget, incidents and failovers. Used by the ledger (month to date) and by the report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from monitor.config import SERVICES, ClusterConfig, Config
from monitor.ledger.maintenance import StoredWindow, merged_windows
from monitor.ledger.sla import (
    Breakdown,
    ErrorBudget,
    Incident,
    Policy,
    Timeline,
    error_budget,
    overlay_maintenance,
)
from monitor.ledger.store import LedgerStore
from monitor.ledger.timebase import HOUR_US, US, iso, month_bounds

# How far past an interval a run of downtime is followed to measure it against
# min_downtime_minutes (a run crossing a month's end counts in both months if it is long
# enough as a whole). Runs can bridge unknown time, so allow some beyond the minimum.
RUN_CONTEXT_US = 6 * HOUR_US


def context_us(policy: Policy) -> int:
    return policy.min_downtime_us + RUN_CONTEXT_US if policy.min_downtime_us > 0 else 0


def load_timeline(
    store: LedgerStore,
    windows: Sequence[StoredWindow],
    cluster: str,
    service: str,
    lo: int,
    hi: int,
    policy: Policy,
) -> Timeline:
    if hi <= lo:
        raise ValueError("an empty interval has no timeline")
    # A merged ledger (several replicas, ``ledger.replicas``) answers service_steps too.
    steps = store.service_steps(cluster, service, lo, hi)
    maintenance = merged_windows(windows, cluster, service, lo, hi)
    return Timeline(overlay_maintenance(steps, maintenance), policy)


def maintenance_us(
    windows: Sequence[StoredWindow], cluster: str, service: str, lo: int, hi: int
) -> int:
    return sum(e - s for s, e in merged_windows(windows, cluster, service, lo, hi))


@dataclass(frozen=True)
class Failover:
    at: int
    service: str
    old: str  # "ctl1(primary)"
    new: str
    cause: str  # failover | failback

    def to_dict(self) -> dict[str, object]:
        return {
            "at": iso(self.at),
            "service": self.service,
            "from": self.old,
            "to": self.new,
            "cause": self.cause,
        }


@dataclass(frozen=True)
class ServicePeriod:
    cluster: str
    service: str
    objective: float  # ratio, e.g. 0.999
    breakdown: Breakdown
    budget: ErrorBudget
    incidents: tuple[Incident, ...]
    failovers: tuple[Failover, ...]

    @property
    def met(self) -> bool | None:
        """None when the monitor observed none of the period: no data is never "met"."""
        b = self.breakdown
        availability = b.availability
        if availability is None or b.up_us + b.degraded_us + b.down_us == 0:
            return None
        return availability >= self.objective

    def to_dict(self) -> dict[str, object]:
        """The report's per-service fields (contract: Report, ``--format json``)."""
        b = self.breakdown
        availability = b.availability
        return {
            "cluster": self.cluster,
            "service": self.service,
            "start": iso(b.start),
            "end": iso(b.end),
            "objective_percent": round(self.objective * 100, 6),
            "availability_percent": None if availability is None else availability * 100,
            "downtime_seconds": b.downtime_us / US,
            "maintenance_seconds": b.maintenance_us / US,
            "unknown_seconds": b.unknown_us / US,
            "up_seconds": b.up_us / US,
            "degraded_seconds": b.degraded_us / US,
            "down_seconds": b.down_us / US,
            "eligible_seconds": b.eligible_us / US,
            "error_budget_seconds": self.budget.allowed_seconds,
            "error_budget_remaining_seconds": self.budget.remaining_seconds,
            "met": self.met,
            "incidents": [i.to_dict() for i in self.incidents],
            "failovers": [f.to_dict() for f in self.failovers],
        }


def service_period(
    store: LedgerStore,
    cluster: str,
    service: str,
    start: int,
    end: int,
    policy: Policy,
    objective: float,
    *,
    windows: Sequence[StoredWindow] | None = None,
    lookback_us: int = 24 * HOUR_US,
) -> ServicePeriod:
    """The SLA of [start, end). Time the monitor has not seen yet (after its last
    heartbeat, e.g. the rest of the current month) is unknown: pass ``end = now`` for a
    month to date. Incidents that began up to ``lookback_us`` before ``start`` show their
    real start (an older one shows that limit). ``windows``: every stored window, removed
    ones included (their past occurrences still count); read from the store if None."""
    if windows is None:
        windows = store.windows(include_removed=True)
    pad = context_us(policy)
    lo, hi = start - max(pad, lookback_us), end + pad
    tl = load_timeline(store, windows, cluster, service, lo, hi, policy)
    b = tl.breakdown(start, end)
    failovers = tuple(
        Failover(e.at_us, e.service, e.old, e.new, e.cause)
        for e in store.events(cluster, start, end, kinds=("failover",))
        if e.service == service
    )
    return ServicePeriod(
        cluster,
        service,
        objective,
        b,
        error_budget(objective, b.eligible_us, b.downtime_us),
        tuple(tl.incidents(cluster, service, start, end)),
        failovers,
    )


def services_of(config: Config, cluster: str) -> tuple[str, ...]:
    """The services a cluster has an SLA for (slurmdbd only with accounting)."""
    return cluster_services(config.cluster(cluster))


def cluster_services(cluster: ClusterConfig) -> tuple[str, ...]:
    return SERVICES if cluster.accounting else ("slurmctld",)


def month_periods(
    store: LedgerStore,
    config: Config,
    year: int,
    month: int,
    *,
    clusters: Sequence[str] | None = None,
    now: int | None = None,
) -> list[ServicePeriod]:
    """Every configured service's SLA for a calendar month in ``[sla] timezone`` (the
    monthly report). With ``now`` inside the month, the month to date."""
    tz = ZoneInfo(config.sla.timezone)
    start, end = month_bounds(year, month, tz)
    if now is not None and start < now < end:
        end = now
    policy = Policy.from_settings(config.sla)
    windows = store.windows(include_removed=True)
    out = []
    for cluster in config.clusters:
        if clusters is not None and cluster.name not in clusters:
            continue
        for service in services_of(config, cluster.name):
            objective = objective_ratio(config, cluster.name, service)
            out.append(
                service_period(
                    store, cluster.name, service, start, end, policy, objective, windows=windows
                )
            )
    return out


def objective_ratio(config: Config, cluster: str, service: str) -> float:
    """The objective as a ratio (99.9 -> 0.999, without 0.9990000000000001)."""
    return cluster_objective(config.cluster(cluster), service)


def cluster_objective(cluster: ClusterConfig, service: str) -> float:
    # Given the cluster itself: a fleet-wide loop looking each one up by name is quadratic.
    return round(cluster.slo.for_service(service) / 100, 12)
