"""The status page's content, from the ledger: per cluster and service the state now, the
month to date against the objective, 90 daily bars, incidents, failovers and the next
maintenance windows.

The month's figures are the ledger's own (``query.service_period``, with the budget of a
month in progress projected as the report projects it), over the period the report takes
for the same clusters: from the month's start to the ledger's last record. So the page and
``slurm-sla report --month current --format json`` never disagree. Reads the store; the
rest is pure.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from monitor.config import Config
from monitor.ledger.maintenance import StoredWindow, occurrences
from monitor.ledger.query import (
    Failover,
    ServicePeriod,
    context_us,
    load_timeline,
    maintenance_us,
    objective_ratio,
    service_period,
    services_of,
)
from monitor.ledger.sla import (
    DEGRADED,
    DOWN,
    UNKNOWN,
    UNMONITORED,
    UP,
    Breakdown,
    Incident,
    Policy,
    Timeline,
    error_budget,
    projected_eligible_us,
)
from monitor.ledger.store import LedgerStore
from monitor.ledger.timebase import DAY_US, HOUR_US, US, from_us, localize, month_containing
from monitor.status.customers import clusters_of

DAYS = 90
LOOKBACK_US = 24 * HOUR_US  # as the report: an incident keeps its real start
AHEAD_US = 90 * DAY_US  # how far ahead announced maintenance is listed
MAX_UPCOMING = 5


@dataclass(frozen=True)
class Live:
    """The daemon's view now (after hysteresis), when there is a daemon."""

    state: str  # up | degraded | down | unknown
    since_us: int
    cause: str
    active_host: str | None
    active_role: str | None


@dataclass(frozen=True)
class Day:
    date: dt.date
    start: int
    end: int  # the day's end, or the ledger's last record for today
    kind: str  # one of DAY_KINDS
    breakdown: Breakdown | None  # None: before or after the ledger's data
    objective: float

    @property
    def availability(self) -> float | None:
        return None if self.breakdown is None else self.breakdown.availability


# Worst first: the colour of a day is its worst kind.
DAY_KINDS = ("outage", "partial", "maintenance", "unknown", "up", "nodata")


@dataclass(frozen=True)
class Upcoming:
    start: int
    end: int
    reason: str
    services: tuple[str, ...]


@dataclass(frozen=True)
class ServiceStatus:
    service: str
    state: str  # up | degraded | down | unknown | maintenance
    since: int | None
    cause: str  # the ledger's cause code ("" when none)
    active_host: str | None
    active_role: str | None
    period: ServicePeriod  # month to date, budget projected to the month's end
    month_start: int
    month_end: int
    days: tuple[Day, ...]
    incidents: tuple[Incident, ...]  # over the days shown, newest first
    failovers: tuple[Failover, ...]  # over the days shown, newest first


@dataclass(frozen=True)
class ClusterStatus:
    name: str
    customer: str | None
    first_data: int | None
    last_data: int | None
    services: tuple[ServiceStatus, ...]
    upcoming: tuple[Upcoming, ...]
    recent: tuple[Upcoming, ...]  # windows over the days shown that have ended


@dataclass(frozen=True)
class StatusPage:
    title: str
    generated_at: int
    timezone: str
    customer: str | None
    public: bool
    period_start: int  # the month to date: [period_start, period_end)
    period_end: int
    days_start: int
    clusters: tuple[ClusterStatus, ...]


def build_status(
    store: LedgerStore,
    config: Config,
    now: int,
    *,
    customer: str | None = None,
    public: bool | None = None,
    live: Mapping[tuple[str, str], Live] | None = None,
) -> StatusPage:
    """The page as of ``now``. ``public`` None: ``[status] public``. ``live``: the daemon's
    states by (cluster, service); without it the state is the ledger's last. Raises
    UnknownCustomer, and StoreError when the store cannot be read."""
    names = clusters_of(config, customer)
    tz = ZoneInfo(config.sla.timezone)
    month_start, month_end = month_containing(now, tz)
    ranges = {n: _range(store, n, now) for n in names}
    lasts = [x for _, x in ranges.values() if x is not None]
    # As the report for a month in progress: up to the ledger's last record, so the same
    # ledger gives the same figures whenever the page is made.
    period_end = min(month_end, max(month_start, max(lasts, default=month_start)))
    days = day_bounds(now, tz)
    policy = Policy.from_settings(config.sla)
    windows = store.windows(include_removed=True)
    clusters = []
    for name in names:
        first, last = ranges[name]
        services = tuple(
            _service(
                store, config, windows, policy, name, service, (month_start, month_end),
                period_end, days, first, (live or {}).get((name, service)),
                _stale(config, last, now),
            )
            for service in services_of(config, name)
        )  # fmt: skip
        clusters.append(
            ClusterStatus(
                name, config.cluster(name).customer, first, last, services,
                upcoming(windows, name, now), recent(windows, name, days[0][0], now),
            )
        )  # fmt: skip
    return StatusPage(
        config.status.title,
        now,
        config.sla.timezone,
        customer,
        config.status.public if public is None else public,
        month_start,
        period_end,
        days[0][0],
        tuple(clusters),
    )


def _stale(config: Config, last: int | None, now: int) -> bool:
    """No record for three probe intervals (at least a minute): no current state."""
    limit = max(3 * config.monitor.interval_seconds, 60.0) * US
    return last is None or now - last > limit


def _range(store: LedgerStore, cluster: str, now: int) -> tuple[int | None, int | None]:
    first, last = store.first_heartbeat(cluster), store.high_water(cluster)
    if first is None or first >= now:
        return None, None
    return first, None if last is None else min(last, now)


def day_bounds(now: int, tz: ZoneInfo, count: int = DAYS) -> list[tuple[int, int, dt.date]]:
    """The last ``count`` calendar days in ``tz``, today last, as [start, end) and date
    (a day is 23 or 25 hours when the clocks change)."""
    today = from_us(now).astimezone(tz).date()
    out = []
    for k in range(count - 1, -1, -1):
        d = today - dt.timedelta(days=k)
        nxt = d + dt.timedelta(days=1)
        out.append((
            localize(dt.datetime(d.year, d.month, d.day), tz),
            localize(dt.datetime(nxt.year, nxt.month, nxt.day), tz),
            d,
        ))  # fmt: skip
    return out


def _service(
    store: LedgerStore,
    config: Config,
    windows: Sequence[StoredWindow],
    policy: Policy,
    cluster: str,
    service: str,
    month: tuple[int, int],
    period_end: int,
    days: list[tuple[int, int, dt.date]],
    first: int | None,
    live: Live | None,
    stale: bool,
) -> ServiceStatus:
    month_start, month_end = month
    objective = objective_ratio(config, cluster, service)
    period = service_period(
        store, cluster, service, month_start, period_end, policy, objective, windows=windows,
        lookback_us=LOOKBACK_US,
    )  # fmt: skip
    if period_end < month_end:  # the report's projection: the whole month's budget
        planned = maintenance_us(windows, cluster, service, month_start, month_end)
        eligible = projected_eligible_us(month_start, month_end, planned, period.breakdown, policy)
        budget = error_budget(objective, eligible, period.breakdown.downtime_us)
        period = dataclasses.replace(period, budget=budget)
    lo, hi = days[0][0], max(period_end, days[0][0] + 1)
    pad = context_us(policy)
    tl = load_timeline(
        store, windows, cluster, service, lo - max(pad, LOOKBACK_US), hi + pad, policy
    )
    bars = tuple(day_bar(tl, s, e, d, first, period_end, objective) for s, e, d in days)
    incidents = tl.incidents(cluster, service, lo, hi) if hi > lo else []
    failovers = [
        Failover(e.at_us, e.service, e.old, e.new, e.cause)
        for e in store.events(cluster, lo, hi, kinds=("failover",))
        if e.service == service
    ]
    state, since, cause = _state_now(tl, period_end, live)
    if live is None and stale:  # the ledger's last word is too old to be "now"
        state, since, cause = UNKNOWN, None, "monitor not running"
    window_start = _maintenance_start(windows, cluster, service, period_end)
    if window_start is not None:
        state, since = "maintenance", window_start
    return ServiceStatus(
        service, state, since, cause,
        live.active_host if live else None, live.active_role if live else None,
        period, month_start, month_end, bars,
        tuple(reversed(incidents)), tuple(reversed(failovers)),
    )  # fmt: skip


def _state_now(tl: Timeline, at: int, live: Live | None) -> tuple[str, int | None, str]:
    if live is not None:
        return live.state, live.since_us, live.cause
    # The ledger's state at its last record, and since when it has held.
    steps = tl.steps
    k = len(steps.states) - 1
    while k > 0 and steps.bounds[k] >= at:
        k -= 1
    state, cause = steps.states[k], steps.causes[k]
    if steps.bounds[k + 1] < at or state == UNMONITORED:
        return UNKNOWN, None, "monitor not running"
    while k > 0 and steps.states[k - 1] == state:
        k -= 1
    return state, steps.bounds[k], cause


def _maintenance_start(
    windows: Sequence[StoredWindow], cluster: str, service: str, at: int
) -> int | None:
    """The start of the maintenance window in force at ``at``, if one is."""
    starts = [
        s for w in windows if w.applies(cluster, service) for s, _ in occurrences(w, at, at + 1)
    ]
    return min(starts, default=None)


def day_bar(
    tl: Timeline,
    start: int,
    end: int,
    date: dt.date,
    first: int | None,
    data_end: int,
    objective: float,
) -> Day:
    """One day, coloured by its counted downtime: ``outage`` when the day alone misses the
    objective, ``partial`` for less; then ``maintenance`` and ``unknown`` (more unknown
    than watched time) as themselves, never as up; ``nodata`` before the ledger's first
    record or after its last."""
    if first is None or end <= first or start >= data_end:
        return Day(date, start, end, "nodata", None, objective)
    b = tl.breakdown(start, min(end, data_end))
    return Day(date, start, min(end, data_end), day_kind(b, objective), b, objective)


def day_kind(b: Breakdown, objective: float) -> str:
    if b.downtime_us > 0:
        availability = b.availability
        return "outage" if availability is not None and availability < objective else "partial"
    if b.maintenance_us > 0:
        return "maintenance"
    watched = b.up_us + b.degraded_us + b.down_us
    if b.unknown_us > watched:
        return "unknown"
    return "up"


def upcoming(windows: Sequence[StoredWindow], cluster: str, now: int) -> tuple[Upcoming, ...]:
    """The next announced windows of ``cluster`` (one in progress included), soonest first."""
    return tuple(_occurring(windows, cluster, now, now + AHEAD_US)[:MAX_UPCOMING])


def recent(
    windows: Sequence[StoredWindow], cluster: str, since: int, now: int
) -> tuple[Upcoming, ...]:
    """The windows of ``cluster`` that ended in [since, now], newest first (a removed
    window's past occurrences included: they counted)."""
    done = [u for u in _occurring(windows, cluster, since, now) if u.end <= now]
    return tuple(reversed(done[-MAX_UPCOMING:]))


def _occurring(windows: Sequence[StoredWindow], cluster: str, lo: int, hi: int) -> list[Upcoming]:
    found: dict[tuple[int, int, str], set[str]] = {}
    for w in windows:
        if w.clusters is not None and cluster not in w.clusters:
            continue
        for s, e in occurrences(w, lo, hi):
            found.setdefault((s, e, w.reason), set()).update(w.services or ("all",))
    return [
        Upcoming(s, e, reason, tuple(sorted(svc))) for (s, e, reason), svc in sorted(found.items())
    ]


def state_words(state: str, role: str | None) -> str:
    """The state as a customer reads it."""
    words = {
        UP: "Operational",
        DEGRADED: "Degraded performance (answering slowly)",
        DOWN: "Outage",
        UNKNOWN: "Unknown (the monitor cannot see it now)",
        "maintenance": "Under maintenance",
    }.get(state, state)
    if state in (UP, DEGRADED) and role and role != "primary":
        words += f" (served by the {role})"
    return words


def role_of(instance: str) -> str:
    """``ctl1(primary)`` -> ``primary``: what a public page says of an instance."""
    if instance.endswith(")") and "(" in instance:
        return instance[instance.rindex("(") + 1 : -1]
    return "instance"
