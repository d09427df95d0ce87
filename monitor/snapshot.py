"""The immutable snapshot the daemon publishes after each round.

Exporters read only this: a scrape never runs a Slurm command and never waits for a probe.
Each cycle builds a new snapshot and swaps one reference, so readers see a whole snapshot
or the previous whole one, never a half-updated mix.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from monitor.observation import (
    ActiveInstance,
    ClusterObservation,
    Condition,
    LocalProcess,
    Reason,
    State,
)

# Buckets for probe latency: Slurm RPCs are milliseconds when healthy and hit MessageTimeout
# (10 s by default) when a controller is frozen, so the buckets span both.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0)


@dataclass(frozen=True)
class Histogram:
    buckets: tuple[float, ...] = LATENCY_BUCKETS
    counts: tuple[int, ...] = (0,) * len(LATENCY_BUCKETS)  # per bucket, not cumulative
    count: int = 0
    total: float = 0.0

    def observe(self, value: float) -> Histogram:
        counts = list(self.counts)
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                counts[i] += 1
                break
        return Histogram(self.buckets, tuple(counts), self.count + 1, self.total + value)

    def cumulative(self) -> list[tuple[str, int]]:
        out, running = [], 0
        for bound, n in zip(self.buckets, self.counts, strict=True):
            running += n
            out.append((repr(bound), running))
        out.append(("+Inf", self.count))
        return out


@dataclass(frozen=True)
class DaemonStatus:
    daemon: str
    hostname: str
    role: str
    state: State  # after hysteresis
    since: dt.datetime
    reason: Reason | None
    answered: bool | None  # the last probe of this instance answered (None: could not tell)
    latency_seconds: float | None
    latency: Histogram = field(default_factory=Histogram)


@dataclass(frozen=True)
class ServiceStatus:
    service: str
    state: State  # after hysteresis
    since: dt.datetime
    cause: str
    redundancy_ok: bool | None  # last round; None: cannot be verified
    active: ActiveInstance | None  # after hysteresis
    condition: Condition  # last round

    @property
    def up(self) -> bool | None:
        if self.state is State.UNKNOWN:
            return None
        return self.state in (State.UP, State.DEGRADED)


@dataclass(frozen=True)
class ClusterStatus:
    name: str
    last_probe_at: dt.datetime | None
    observation: ClusterObservation | None
    daemons: tuple[DaemonStatus, ...]
    services: Mapping[str, ServiceStatus]
    probe_errors_total: Mapping[tuple[str, Reason], int]  # (probe, reason) -> count
    failovers_total: int
    restarts_total: Mapping[str, int]  # local daemon -> restarts seen
    local_processes: tuple[LocalProcess, ...] = ()
    # The earliest instant the health state machine may still rewrite: an unconfirmed
    # change of a service is dated back to its first sighting, and a silence the takeover
    # grace holds becomes an outage from its start. The ledger's heartbeat does not vouch
    # past it, so a monitor killed meanwhile leaves that time unknown, never up.
    undecided_since: dt.datetime | None = None

    @property
    def statistics(self) -> Mapping[str, Any] | None:
        return self.observation.statistics if self.observation else None


@dataclass(frozen=True)
class SlaFigures:
    """One service's SLA figures for the current month (filled by the ledger)."""

    cluster: str
    service: str
    objective_ratio: float
    availability_ratio: float | None
    error_budget_remaining_ratio: float | None
    downtime_seconds_total: float
    burn_rates: Mapping[str, float] = field(default_factory=dict)  # window -> rate


@dataclass(frozen=True)
class StoreStatus:
    """How the durable state store is doing (the ledger's view of it)."""

    healthy: bool
    pending_events: int = 0  # confirmed events waiting to be written
    lost_events: int = 0  # dropped after the in-memory queue overflowed
    last_error: str | None = None


@dataclass(frozen=True)
class Snapshot:
    generated_at: dt.datetime
    started_at: dt.datetime
    clusters: tuple[ClusterStatus, ...] = ()
    sla: tuple[SlaFigures, ...] = ()
    extras: Mapping[str, Any] = field(default_factory=dict)  # monitor-wide facts for exporters
    store: StoreStatus | None = None
    problems: tuple[str, ...] = ()  # what makes /healthz fail, besides stale rounds
    # The wall clock minus the monitor's clock (<= 0 after a step back, which the monitor's
    # timeline does not follow). Timestamps exported for a scraper are on its wall clock, or
    # a monitor whose clock stepped back an hour looks fresh for that hour after it hangs.
    wall_offset_seconds: float = 0.0

    def wall_timestamp(self, when: dt.datetime) -> float:
        """A time the monitor recorded, as Unix seconds on the wall clock."""
        return when.timestamp() + self.wall_offset_seconds


class SnapshotBox:
    """Holds the current snapshot; ``get`` never blocks behind a probe. ``subscribe``: told
    after each swap (the exposition renders then, not per scrape); a subscriber must return
    at once."""

    def __init__(self, initial: Snapshot) -> None:
        self._snapshot = initial
        self._lock = threading.Lock()
        self._subscribers: tuple[Callable[[], object], ...] = ()

    def get(self) -> Snapshot:
        return self._snapshot  # a single reference read is atomic

    def subscribe(self, changed: Callable[[], object]) -> None:
        with self._lock:
            self._subscribers = (*self._subscribers, changed)

    def swap(self, snapshot: Snapshot) -> None:
        with self._lock:
            self._snapshot = snapshot
            subscribers = self._subscribers
        for changed in subscribers:
            changed()
