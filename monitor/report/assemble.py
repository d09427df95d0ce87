"""Building the report from the ledger: the ledger's own figures (``query.service_period``,
so the report and the metrics never disagree), plus what only a report shows: the
classified timeline, the error budget's burn-down, the monitor's blind and absent time and
the maintenance occurrences. The store is read here; the helpers below it are pure."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from bisect import bisect_right
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from monitor import __version__
from monitor.config import Config
from monitor.errors import MonitorError
from monitor.ledger.maintenance import StoredWindow, occurrences
from monitor.ledger.query import (
    context_us,
    load_timeline,
    maintenance_us,
    objective_ratio,
    service_period,
    services_of,
)
from monitor.ledger.replicas import MergedLedger
from monitor.ledger.sla import (
    DEGRADED,
    DOWN,
    UNMONITORED,
    UP,
    Policy,
    Timeline,
    error_budget,
    projected_eligible_us,
)
from monitor.ledger.store import LedgerStore
from monitor.ledger.timebase import HOUR_US, from_us, month_bounds, to_us
from monitor.report.credits import credit
from monitor.report.model import (
    Band,
    ClusterSection,
    Inputs,
    MaintenanceEntry,
    Report,
    ServiceSection,
    UnknownPeriod,
)
from monitor.report.status import Status, projected_downtime_us, service_status

PROGRAM = "slurm-sla-monitor"
LOOKBACK_US = 24 * HOUR_US  # service_period's default: incidents keep their real start


def config_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def last_complete_month(now_us: int, tz: ZoneInfo) -> tuple[int, int]:
    local = from_us(now_us).astimezone(tz)
    return (local.year - 1, 12) if local.month == 1 else (local.year, local.month - 1)


def current_month(now_us: int, tz: ZoneInfo) -> tuple[int, int]:
    local = from_us(now_us).astimezone(tz)
    return local.year, local.month


def build_report(
    store: LedgerStore | MergedLedger,
    config: Config,
    year: int,
    month: int,
    *,
    config_sha256: str,
    clusters: Sequence[str] | None = None,
    now: dt.datetime,
) -> Report:
    """The report of a calendar month in ``[sla] timezone``. ``now`` only decides whether
    the month is over: a month not over yet is reported up to the ledger's last record
    (not up to ``now``), so the same ledger always gives the same report. Raises
    MonitorError for a month that has not begun or a cluster not in the config, and
    StoreError when the store cannot be read."""
    tz = ZoneInfo(config.sla.timezone)
    start, end = month_bounds(year, month, tz)
    now_us = to_us(now)
    label = f"{year:04d}-{month:02d}"
    if start > now_us:
        y, m = current_month(now_us, tz)
        raise MonitorError(
            f"month {label} is in the future (it is {y:04d}-{m:02d} in {config.sla.timezone})"
        )
    names = [c.name for c in config.clusters]
    for name in clusters or ():
        if name not in names:
            raise MonitorError(f"no cluster named {name!r} in the configuration")
    chosen = [n for n in names if clusters is None or n in clusters]
    # The ledger's range as far as this report goes: what the monitor records after the
    # month's end does not change a closed month's report (re-running it gives the bytes
    # that were archived).
    ranges = {n: _clip(store.first_heartbeat(n), store.high_water(n), end) for n in chosen}
    firsts = [f for f, _ in ranges.values() if f is not None]
    lasts = [x for _, x in ranges.values() if x is not None]
    partial = now_us < end
    period_end = min(end, max(start, max(lasts, default=start))) if partial else end
    policy = Policy.from_settings(config.sla)
    windows = store.windows(include_removed=True)
    sections = []
    for name in chosen:
        services = tuple(
            _service(store, config, windows, policy, name, service, start, period_end, end)
            for service in services_of(config, name)
        )
        # getattr: `customer` is read by the status-page feature's part of the config.
        customer = getattr(config.cluster(name), "customer", None)
        sections.append(ClusterSection(name, services, *ranges[name], customer))
    inputs = Inputs(
        min(firsts, default=None),
        max(lasts, default=None),
        config_sha256,
        PROGRAM,
        __version__,
        policy,
    )
    merged = isinstance(store, MergedLedger)
    return Report(
        year, month, config.sla.timezone, start, end, period_end, partial, inputs,
        tuple(sections), store.names if merged else (), store.rule if merged else "",
    )  # fmt: skip


def _clip(first: int | None, last: int | None, end: int) -> tuple[int | None, int | None]:
    if first is None or first >= end:
        return None, None  # nothing recorded before the end of the period
    return first, None if last is None else min(last, end)


def _service(
    store: LedgerStore | MergedLedger,
    config: Config,
    windows: Sequence[StoredWindow],
    policy: Policy,
    cluster: str,
    service: str,
    start: int,
    end: int,
    month_end: int,
) -> ServiceSection:
    objective = objective_ratio(config, cluster, service)
    period = service_period(
        store, cluster, service, start, end, policy, objective, windows=windows,
        lookback_us=LOOKBACK_US,
    )  # fmt: skip
    eligible = period.breakdown.eligible_us
    if end < month_end:
        # A month not over: its budget is the whole month's, as the metrics show it (the
        # month less its planned maintenance and the unknown time so far), not that of
        # the days gone by, which would call a month breached after its first outage.
        planned = maintenance_us(windows, cluster, service, start, month_end)
        eligible = projected_eligible_us(start, month_end, planned, period.breakdown, policy)
        budget = error_budget(objective, eligible, period.breakdown.downtime_us)
        period = dataclasses.replace(period, budget=budget)
    partial = end < month_end
    elapsed = (end - start) / (month_end - start)
    status = service_status(period, partial=partial, elapsed=elapsed)
    projected = projected_av = best = None
    if partial and status is not Status.NO_DATA and eligible > 0:
        projected = projected_downtime_us(period.breakdown.downtime_us, elapsed)
        if projected is not None:
            projected_av = max(0.0, (eligible - projected) / eligible)
        best = max(0.0, (eligible - period.breakdown.downtime_us) / eligible)
    availability = period.breakdown.availability
    owed = None
    if status is not Status.NO_DATA and availability is not None:
        owed = credit(config.sla.credits, service, availability * 100)
    # The same interval service_period reads, so the counted downtime (which depends on
    # runs reaching beyond the period with min_downtime_minutes) is the same.
    pad = context_us(policy)
    tl = load_timeline(
        store, windows, cluster, service, start - max(pad, LOOKBACK_US), end + pad, policy
    )
    disagreements = ()
    if isinstance(store, MergedLedger):
        disagreements = store.disagreements(cluster, service, start, end) if end > start else ()
    return ServiceSection(
        period,
        tuple(bands(tl, start, end)),
        tuple(burn_knots(tl, start, end)),
        tuple(unknown_periods(tl, start, end)),
        tuple(maintenance_entries(windows, cluster, service, start, end)),
        status,
        projected,
        projected_av,
        best,
        owed,
        disagreements,
    )


# --- pure: from a timeline ----------------------------------------------------------------


def _steps_in(tl: Timeline, start: int, end: int) -> range:
    bounds = tl.steps.bounds
    first = max(0, bisect_right(bounds, start) - 1)
    last = min(len(tl.steps.states), bisect_right(bounds, end))
    return range(first, last)


def _kind(state: str, maintenance: bool) -> str:
    if maintenance:
        return "maintenance"
    return state if state in (UP, DEGRADED, DOWN) else "unknown"


def bands(tl: Timeline, start: int, end: int) -> list[Band]:
    """[start, end) classified as the SLA counts it, adjacent equal kinds merged."""
    steps, out = tl.steps, []
    for k in _steps_in(tl, start, end):
        s, e = max(steps.bounds[k], start), min(steps.bounds[k + 1], end)
        if e <= s:
            continue
        kind = _kind(steps.states[k], steps.maintenance[k])
        if out and out[-1].kind == kind and out[-1].end == s:
            out[-1] = Band(out[-1].start, e, kind)
        else:
            out.append(Band(s, e, kind))
    return out


def burn_knots(tl: Timeline, start: int, end: int) -> list[tuple[int, int]]:
    """Counted downtime from ``start`` to each knot: the period's ends and the edges of
    every run of counted downtime. Linear between knots, so the curve is exact (with
    whole minutes, or a share of degraded time, it is the straight line between them)."""
    steps, knots = tl.steps, [(start, 0)]
    run_end = None  # where the last run of counted downtime ended
    for k in _steps_in(tl, start, end):
        s, e = max(steps.bounds[k], start), min(steps.bounds[k + 1], end)
        if e <= s or not tl.bad[k]:
            continue
        used = tl.counted_us(start, e)
        if run_end == s:  # the run goes on: move its end
            knots[-1] = (e, used)
        else:
            if knots[-1][0] != s:
                knots.append((s, tl.counted_us(start, s)))
            knots.append((e, used))
        run_end = e
    if knots[-1][0] != end:
        knots.append((end, tl.counted_us(start, end)))
    return knots


def unknown_periods(tl: Timeline, start: int, end: int) -> list[UnknownPeriod]:
    """Blind and absent time outside maintenance, adjacent equal causes merged: the parts
    add up to the period's unknown time."""
    steps, out = tl.steps, []
    for k in _steps_in(tl, start, end):
        if _kind(steps.states[k], steps.maintenance[k]) != "unknown":
            continue
        s, e = max(steps.bounds[k], start), min(steps.bounds[k + 1], end)
        if e <= s:
            continue
        kind = "absent" if steps.states[k] == UNMONITORED else "blind"
        cause = steps.causes[k]
        last = out[-1] if out else None
        if last and last.end == s and (last.kind, last.cause) == (kind, cause):
            out[-1] = UnknownPeriod(last.start, e, kind, cause)
        else:
            out.append(UnknownPeriod(s, e, kind, cause))
    return out


def maintenance_entries(
    windows: Sequence[StoredWindow], cluster: str, service: str, start: int, end: int
) -> list[MaintenanceEntry]:
    """Each occurrence of an applicable window overlapping [start, end), removed windows'
    past occurrences included (they counted)."""
    out = []
    for w in windows:
        if not w.applies(cluster, service):
            continue
        for s, e in occurrences(w, start, end):
            inside = min(e, end) - max(s, start)
            if inside <= 0:
                continue
            out.append(
                MaintenanceEntry(
                    w.id, s, e, inside, w.reason, (service,), w.origin, w.repeat, w.created_by,
                    w.removed_us if w.removed else None, w.removed_by,
                    s < w.created_us, w.created_us,
                )
            )  # fmt: skip
    return sorted(out, key=lambda m: (m.start, m.end, m.window_id))
