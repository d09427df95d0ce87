"""The snapshot's SLA figures for one service: month to date, error budget, burn rates,
and the downtime counter since the store began, computed from the store and cached.

A computation reads the month and the longest burn window (3 days) from the store; the
counter adds the closed months, which are final once their run context has passed and
are then cached in memory and in the store (``ledger_month_totals``), keyed by their
basis, so a restart does not re-read a year of history.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

import structlog

from monitor.errors import StoreError
from monitor.ledger.maintenance import StoredWindow, merged_windows
from monitor.ledger.query import context_us, load_timeline, maintenance_us
from monitor.ledger.sla import Policy, burn_rate, error_budget, projected_eligible_us
from monitor.ledger.store import LedgerStore
from monitor.ledger.timebase import BURN_WINDOWS, US, month_containing
from monitor.snapshot import SlaFigures

log = structlog.get_logger("slurm_sla_monitor")


@dataclass(frozen=True)
class Basis:
    """What the figures depend on besides the recorded history."""

    policy: Policy
    timezone: str
    windows: Sequence[StoredWindow]  # every stored window, removed ones included
    maintenance_version: int

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class _Cached:
    horizon: int
    month_start: int
    version: int
    maintenance: int
    figures: SlaFigures


class FigureCache:
    """Figures per (cluster, service), recomputed on a new transition (``version``), a
    maintenance change, a new month, or ``refresh_us`` after the last computation."""

    def __init__(self, clock_us: Callable[[], int], refresh_us: int) -> None:
        self._clock_us = clock_us
        self._refresh_us = refresh_us
        self._cache: dict[tuple[str, str], _Cached] = {}
        self._closed: dict[tuple[str, str, int, str], int] = {}  # closed month -> downtime
        self._closed_loaded: set[tuple[str, str]] = set()
        self._totals: dict[tuple[str, str], float] = {}

    def forget(self) -> None:
        """Settings changed: recompute at the next call (counters keep their values)."""
        self._cache.clear()

    def last(self, cluster: str, service: str, objective: float) -> SlaFigures:
        """The last figures computed (no store needed), or the objective alone."""
        cached = self._cache.get((cluster, service))
        if cached is not None:
            return replace(cached.figures, objective_ratio=objective)
        total = self._totals.get((cluster, service), 0.0)
        return SlaFigures(cluster, service, objective, None, None, total)

    def get(
        self,
        store: LedgerStore,
        basis: Basis,
        cluster: str,
        service: str,
        objective: float,
        horizon: int,
        version: int,
    ) -> SlaFigures:
        """Figures as of ``horizon`` (the cluster's last committed heartbeat). Raises
        StoreError when the store cannot be read."""
        key = (cluster, service)
        month_start, month_end = month_containing(horizon, basis.tz)
        cached = self._cache.get(key)
        if (
            cached is not None
            and cached.month_start == month_start
            and cached.version == version
            and cached.maintenance == basis.maintenance_version
            and horizon - cached.horizon < self._refresh_us
            and cached.figures.objective_ratio == objective
        ):
            return cached.figures
        figures = self._compute(
            store, basis, cluster, service, objective, horizon, month_start, month_end
        )
        self._cache[key] = _Cached(
            horizon, month_start, version, basis.maintenance_version, figures
        )
        return figures

    def _compute(
        self,
        store: LedgerStore,
        basis: Basis,
        cluster: str,
        service: str,
        objective: float,
        horizon: int,
        ms: int,
        me: int,
    ) -> SlaFigures:
        policy, windows = basis.policy, basis.windows
        lo = min(ms, horizon - max(BURN_WINDOWS.values())) - context_us(policy)
        tl = load_timeline(store, windows, cluster, service, lo, horizon, policy)
        month = tl.breakdown(ms, horizon)
        planned = maintenance_us(windows, cluster, service, ms, me)
        eligible = projected_eligible_us(ms, me, planned, month, policy)
        budget = error_budget(objective, eligible, month.downtime_us)
        burn = {}
        for name, width in BURN_WINDOWS.items():
            rate = burn_rate(objective, tl.breakdown(max(horizon - width, tl.lo), horizon))
            if rate is not None:
                burn[name] = rate
        closed = self._closed_total(store, basis, cluster, service, ms, horizon)
        key = (cluster, service)
        # A counter never goes down: a recovery confirmed a few seconds back, or a window
        # purged or added after the fact, must not make Prometheus see a reset.
        total = max(self._totals.get(key, 0.0), (closed + month.downtime_us) / US)
        self._totals[key] = total
        return SlaFigures(
            cluster,
            service,
            objective,
            month.availability,
            budget.remaining_ratio if month.eligible_us > 0 or month.downtime_us else None,
            total,
            burn,
        )

    def _closed_total(
        self,
        store: LedgerStore,
        basis: Basis,
        cluster: str,
        service: str,
        before: int,
        horizon: int,
    ) -> int:
        """Counted downtime from the store's first heartbeat to ``before`` (a month
        start), month by month, final months from the cache."""
        first = store.first_heartbeat(cluster)
        if first is None or first >= before:
            return 0
        pad = context_us(basis.policy)
        key = (cluster, service)
        if key not in self._closed_loaded:
            saved = store.month_totals(cluster, service)
            self._closed.update({(cluster, service, m, b): v for (m, b), v in saved.items()})
            self._closed_loaded.add(key)
        total = 0
        tz = basis.tz
        start, end = month_containing(first, tz)
        while start < before:
            lo, hi = start - pad, end + pad
            signature = _signature(basis, cluster, service, lo, hi)
            value = self._closed.get((cluster, service, start, signature))
            if value is None:
                tl = load_timeline(store, basis.windows, cluster, service, lo, hi, basis.policy)
                value = tl.breakdown(start, end).downtime_us
                if horizon >= hi:  # final: nothing recorded from now on can change it
                    self._closed[(cluster, service, start, signature)] = value
                    try:
                        store.save_month_total(
                            cluster, service, start, signature, value, self._clock_us()
                        )
                    except StoreError as exc:
                        log.warning("ledger.cache_not_saved", error=str(exc))
            total += value
            start, end = month_containing(end, tz)
        return total


def _signature(basis: Basis, cluster: str, service: str, lo: int, hi: int) -> str:
    """A closed month's basis: the settings, the time zone and the maintenance around it."""
    windows = merged_windows(basis.windows, cluster, service, lo, hi)
    text = repr((basis.policy, basis.timezone, windows))
    return hashlib.sha256(text.encode()).hexdigest()[:24]
