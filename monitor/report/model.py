"""The report's data: frozen values, built once from the ledger (``assemble``) and read by
every renderer. Times are integer microseconds since the epoch, UTC (``ledger.timebase``);
everything is in a fixed order, so the same ledger renders to the same bytes."""

from __future__ import annotations

from dataclasses import dataclass, replace

from monitor.ledger.merge import Disagreement
from monitor.ledger.query import ServicePeriod
from monitor.ledger.sla import Policy
from monitor.report.credits import Credit, largest
from monitor.report.status import Status, combined

# How time is classified in the timeline bands (the ledger's classes, blind and absent
# time together as "unknown"). Order: legend order.
BAND_KINDS = ("up", "degraded", "down", "maintenance", "unknown")


@dataclass(frozen=True)
class Inputs:
    """What the report was built from, so a reader can tell two reports apart."""

    ledger_first: int | None  # the first heartbeat of the clusters reported
    ledger_last: int | None  # the latest instant recorded for them, up to the period's end
    config_sha256: str  # of the config file's bytes
    program: str
    version: str
    policy: Policy


@dataclass(frozen=True)
class Band:
    start: int
    end: int
    kind: str  # one of BAND_KINDS


@dataclass(frozen=True)
class UnknownPeriod:
    """Time the monitor could not vouch for (maintenance excluded): ``absent`` (no heartbeat:
    the monitor was not running, or its rounds stalled) or ``blind`` (it ran but could not
    see: munge, a missing binary, timeouts; or a run's first rounds, before a state was
    confirmed)."""

    start: int
    end: int
    kind: str  # absent | blind
    cause: str  # as recorded: "monitor not running", "blind", "monitor started", ...

    @property
    def duration_us(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class MaintenanceEntry:
    """One occurrence of a maintenance window that overlaps the report's period."""

    window_id: int
    start: int  # the occurrence, not clipped to the period
    end: int
    in_period_us: int  # the part inside the period
    reason: str
    services: tuple[str, ...]
    origin: str  # config | cli
    repeat: str  # none | daily | weekly
    created_by: str
    cancelled_at: int | None = None  # the window was removed then (later occurrences dropped)
    cancelled_by: str | None = None
    # Added after this occurrence began: it erased downtime already recorded.
    retroactive: bool = False
    created_at: int | None = None


@dataclass(frozen=True)
class ServiceSection:
    period: ServicePeriod  # the ledger's figures: breakdown, budget, incidents, failovers
    bands: tuple[Band, ...]  # the period classified, adjacent equal kinds merged
    burn: tuple[tuple[int, int], ...]  # (instant, counted downtime so far): exact knots
    unknown_periods: tuple[UnknownPeriod, ...]
    maintenance: tuple[MaintenanceEntry, ...]
    status: Status = Status.NO_DATA
    # A month in progress: the month's downtime at the rate so far, and the availability
    # that would give (None for a closed month).
    projected_downtime_us: int | None = None
    projected_availability: float | None = None
    best_availability: float | None = None  # the month's, if no more downtime comes
    credit: Credit | None = None  # None: no [[sla.credits]] tier applies, or no data
    # Merged replicas (HA) only: where they observed different states, with every view.
    disagreements: tuple[Disagreement, ...] = ()

    @property
    def cluster(self) -> str:
        return self.period.cluster

    @property
    def service(self) -> str:
        return self.period.service


@dataclass(frozen=True)
class ClusterSection:
    name: str
    services: tuple[ServiceSection, ...]
    ledger_first: int | None
    ledger_last: int | None
    customer: str | None = None

    @property
    def status(self) -> Status:
        return combined(s.status for s in self.services)

    @property
    def credit_percent(self) -> float | None:
        return largest([s.credit for s in self.services])

    def maintenance(self) -> list[MaintenanceEntry]:
        """Every occurrence once, with all the services it applies to."""
        seen: dict[tuple[int, int, int], MaintenanceEntry] = {}
        for s in self.services:
            for m in s.maintenance:
                key = (m.start, m.end, m.window_id)
                if key in seen:
                    m = replace(seen[key], services=(*seen[key].services, *m.services))
                seen[key] = m
        return [seen[k] for k in sorted(seen)]

    def unknown_periods(self) -> list[tuple[UnknownPeriod, tuple[str, ...]]]:
        """Unknown periods with the services they concern (usually all: the monitor is
        blind or absent for a whole cluster at once)."""
        found: dict[tuple[int, int, str, str], list[str]] = {}
        for s in self.services:
            for u in s.unknown_periods:
                found.setdefault((u.start, u.end, u.kind, u.cause), []).append(s.service)
        return [
            (UnknownPeriod(*key), tuple(found[key]))
            for key in sorted(found, key=lambda k: (k[0], k[1], k[2], k[3]))
        ]


@dataclass(frozen=True)
class Report:
    year: int
    month: int
    timezone: str  # the SLA time zone: whose calendar month this is
    month_start: int
    month_end: int
    end: int  # the end of the period reported: month_end, or the ledger's last record
    partial: bool  # the month is not over: reported up to ``end``
    inputs: Inputs
    clusters: tuple[ClusterSection, ...]
    # Merged from several replicas' ledgers (HA): their names, and the rule that decided
    # where they disagreed. Empty for one ledger, whose report is unchanged.
    replicas: tuple[str, ...] = ()
    disagreement_rule: str = ""

    @property
    def merged(self) -> bool:
        return bool(self.replicas)

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def services(self) -> list[ServiceSection]:
        return [s for c in self.clusters for s in c.services]
