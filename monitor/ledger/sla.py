"""SLA arithmetic, pure: no I/O, no clock. Everything takes [start, end) and data.

Times are integer microseconds (see ``timebase``), so the parts of an interval (up,
degraded, down, maintenance, unknown) always add up to it exactly.

How time is classified, in order of precedence:
1. inside an applicable maintenance window: ``maintenance`` (whatever the state);
2. no heartbeat covers it (the monitor was not running, or its rounds stalled), or the
   service state is ``unknown`` (the monitor was blind): ``unknown``;
3. otherwise the service state: ``up``, ``degraded`` or ``down``.

Availability = (eligible - downtime) / eligible, where eligible time is the interval less
maintenance (and less unknown time when ``unknown_counts_as = "excluded"``, the default).
Degraded counts as up by default: the service answers, slowly (``degraded_counts_as``
counts a share of it, 1 = all, as down; it then also joins runs of downtime). Downtime is
``down`` time (plus unknown time when ``unknown_counts_as = "down"``) outside maintenance;
with
``min_downtime_minutes`` it counts only in runs of at least that much downtime. A run is
broken by up or degraded time and by maintenance, and bridged by excluded unknown time
(an outage the monitor lost sight of for a while, e.g. across its own restart, is one
run). A run still in progress at the end of the data counts once it is long enough.

With ``downtime_granularity = "minute"`` every clock minute (UTC) in which counted
downtime occurred counts whole, as GCP counts "downtime minutes"; a minute is credited to
the instant its first counted second occurs, so intervals on minute boundaries (months,
days) add up exactly.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate
from operator import itemgetter
from typing import NamedTuple

from monitor.config import SlaSettings
from monitor.ledger.timebase import MINUTE_US, US, iso

UP, DEGRADED, DOWN, UNKNOWN = "up", "degraded", "down", "unknown"
UNMONITORED = "unmonitored"  # no heartbeat covers the time: the monitor was not running

# Classes of classified time (indexes into the per-class sums).
C_UP, C_DEGRADED, C_DOWN, C_MAINT, C_UNKNOWN = range(5)
_CLASSES = 5


class Transition(NamedTuple):
    """A confirmed change of a service's state, as recorded by run ``run``."""

    at: int
    run: int
    seq: int
    state: str
    cause: str = ""


class Coverage(NamedTuple):
    """A heartbeat segment: run ``run`` probed the cluster continuously over [first, last)."""

    run: int
    first: int
    last: int


class Span(NamedTuple):
    start: int
    end: int
    state: str  # up | degraded | down | unknown | unmonitored
    cause: str
    maintenance: bool = False


@dataclass(frozen=True)
class Policy:
    unknown_counts_as: str = "excluded"  # excluded | up | down
    min_downtime_us: int = 0
    degraded_weight: float = 0.0  # share of degraded time counted as down
    whole_minutes: bool = False  # downtime_granularity = "minute"

    @classmethod
    def from_settings(cls, settings: SlaSettings) -> Policy:
        return cls(
            settings.unknown_counts_as,
            round(settings.min_downtime_minutes * MINUTE_US),
            settings.degraded_counts_as,
            settings.downtime_granularity == "minute",
        )


@dataclass(frozen=True)
class Breakdown:
    start: int
    end: int
    up_us: int
    degraded_us: int
    down_us: int  # all down time seen outside maintenance (counted or not)
    maintenance_us: int
    unknown_us: int
    downtime_us: int  # SLA-counted downtime
    eligible_us: int

    @property
    def interval_us(self) -> int:
        return self.end - self.start

    @property
    def availability(self) -> float | None:
        if self.eligible_us <= 0:
            return None
        return (self.eligible_us - self.downtime_us) / self.eligible_us

    @property
    def error_ratio(self) -> float | None:
        if self.eligible_us <= 0:
            return None
        return self.downtime_us / self.eligible_us


@dataclass(frozen=True)
class ErrorBudget:
    allowed_seconds: float
    used_seconds: float
    remaining_seconds: float
    remaining_ratio: float  # 1 untouched, <= 0 spent


@dataclass(frozen=True)
class Incident:
    """An outage: down time, bridged across unknown time (the incident continues while the
    monitor cannot see), ended by up or degraded time."""

    cluster: str
    service: str
    start: int
    end: int  # end of the last down span
    cause: str
    ongoing: bool  # still down at the end of the data
    downtime_us: int  # SLA-counted, within the interval asked for
    maintenance_us: int  # down time inside maintenance windows
    unknown_us: int  # unknown time bridged inside it

    @property
    def duration_us(self) -> int:
        return self.end - self.start

    def to_dict(self) -> dict[str, object]:
        return {
            "start": iso(self.start),
            "end": None if self.ongoing else iso(self.end),
            "duration_seconds": self.duration_us / US,
            "service": self.service,
            "cause": self.cause,
            "downtime_seconds": self.downtime_us / US,
            "maintenance_seconds": self.maintenance_us / US,
            "unknown_seconds": self.unknown_us / US,
            "ongoing": self.ongoing,
        }


# --- the timeline ------------------------------------------------------------------------
#
# Internally a timeline is a step function in parallel lists (boundaries, then one state,
# cause and maintenance flag per step): a month of a service flapping every 30 s is ~90k
# steps, and objects per step would cost more than the arithmetic.


class Steps(NamedTuple):
    bounds: list[int]  # n + 1 increasing instants, from lo to hi
    states: list[str]  # n
    causes: list[str]  # n
    maintenance: list[bool]  # n


def state_steps(
    transitions: Iterable[Transition], coverage: Iterable[Coverage], lo: int, hi: int
) -> Steps:
    """The service state in force over [lo, hi), as contiguous steps.

    Within a heartbeat segment the state is that of the last transition recorded by the
    segment's run at or before the instant (none yet: ``unknown``, as the daemon's health
    starts); outside every segment it is ``unmonitored``. Each run restarts from unknown,
    so a state recorded before a restart never leaks into the next run. Segments that
    overlap (two monitors on one store, or a clock step) are taken first come first.
    """
    by_run: dict[int, list[Transition]] = {}
    for t in transitions:
        by_run.setdefault(t[1], []).append(t)
    runs = {}
    for run, items in by_run.items():
        items.sort(key=itemgetter(0, 2))
        runs[run] = ([t[0] for t in items], [t[3] for t in items], [t[4] for t in items])
    bounds, states, causes = [lo], [], []

    def emit(end: int, state: str, cause: str) -> None:
        if end <= bounds[-1]:
            return
        if states and states[-1] == state and causes[-1] == cause:
            bounds[-1] = end
        else:
            bounds.append(end)
            states.append(state)
            causes.append(cause)

    cursor = lo
    for seg in sorted(coverage, key=lambda c: (c[1], c[0])):
        s, e = max(seg[1], cursor), min(seg[2], hi)
        if e <= s:
            continue
        emit(s, UNMONITORED, "monitor not running")
        ats, sts, cs = runs.get(seg[0], ([], [], []))
        i = bisect_right(ats, s) - 1
        state, cause = (sts[i], cs[i]) if i >= 0 else (UNKNOWN, "monitor started")
        j, stop = i + 1, bisect_left(ats, e)
        while j < stop:
            emit(ats[j], state, cause)
            state, cause = sts[j], cs[j]
            j += 1
        emit(e, state, cause)
        cursor = e
    emit(hi, UNMONITORED, "monitor not running")
    return Steps(bounds, states, causes, [False] * len(states))


def overlay_maintenance(steps: Steps, windows: Sequence[tuple[int, int]]) -> Steps:
    """Split steps at window edges and flag the parts inside. ``windows``: disjoint and
    sorted (``maintenance.merged_windows`` gives that). Costs O(n) list copies plus
    O(log n) per window edge: a month has thousands of steps and a handful of windows."""
    if not windows:
        return steps
    old, states, causes = steps.bounds, steps.states, steps.causes
    lo, hi = old[0], old[-1]
    edges = sorted({x for w in windows for x in w if lo < x < hi})
    nb: list[int] = []
    ns: list[str] = []
    nc: list[str] = []
    prev = 0
    for x in edges:
        k = bisect_right(old, x) - 1  # the step that contains x
        if old[k] == x:
            continue  # already a boundary
        nb += old[prev : k + 1]
        ns += states[prev : k + 1]
        nc += causes[prev : k + 1]
        nb.append(x)  # the rest of step k, after the edge
        ns.append(states[k])
        nc.append(causes[k])
        prev = k + 1
    nb += old[prev:]
    ns += states[prev:]
    nc += causes[prev:]
    flags = [False] * len(ns)
    for s, e in windows:
        i0, i1 = bisect_left(nb, s), min(bisect_left(nb, e), len(ns))
        flags[i0:i1] = [True] * max(0, i1 - i0)
    return Steps(nb, ns, nc, flags)


def state_spans(
    transitions: Iterable[Transition], coverage: Iterable[Coverage], lo: int, hi: int
) -> list[Span]:
    """``state_steps`` as a list of spans (for reading, not for speed)."""
    return _spans(state_steps(transitions, coverage, lo, hi))


def _spans(steps: Steps) -> list[Span]:
    b = steps.bounds
    return [
        Span(b[k], b[k + 1], steps.states[k], steps.causes[k], steps.maintenance[k])
        for k in range(len(steps.states))
    ]


_CLASS = {UP: C_UP, DEGRADED: C_DEGRADED, DOWN: C_DOWN}


class Timeline:
    """Classified steps over [lo, hi) with prefix sums: any sub-interval's breakdown costs
    two binary searches."""

    def __init__(self, steps: Steps, policy: Policy) -> None:
        if not steps.states:
            raise ValueError("a timeline needs at least one step")
        self.steps = steps
        self.policy = policy
        b = steps.bounds
        self.lo, self.hi = b[0], b[-1]
        self._lengths = [y - x for x, y in zip(b, b[1:], strict=False)]
        self._cls = [
            C_MAINT if m else _CLASS.get(s, C_UNKNOWN)
            for s, m in zip(steps.states, steps.maintenance, strict=True)
        ]
        self.bad = self._counted_downtime()
        columns = [[0] * len(self._cls) for _ in range(_CLASSES)]
        for i, (n, c) in enumerate(zip(self._lengths, self._cls, strict=True)):
            columns[c][i] = n
        self._cum = [[0, *accumulate(column)] for column in columns]
        # How much of a counted step counts: all of it, or degraded_weight of degraded time.
        self._weight = [
            (policy.degraded_weight if c == C_DEGRADED else 1.0) if x else 0.0
            for c, x in zip(self._cls, self.bad, strict=True)
        ]
        self._first_minute = self._minute_starts() if policy.whole_minutes else []
        self._cum_bad = [
            0,
            *accumulate(self._step_counted(k, n) for k, n in enumerate(self._lengths)),
        ]

    @property
    def spans(self) -> list[Span]:
        return _spans(self.steps)

    def _counted_downtime(self) -> list[bool]:
        unknown_bad = self.policy.unknown_counts_as == "down"
        bridges = self.policy.unknown_counts_as == "excluded"
        cls = self._cls
        degraded_bad = self.policy.degraded_weight > 0
        bad = [
            c == C_DOWN or (unknown_bad and c == C_UNKNOWN) or (degraded_bad and c == C_DEGRADED)
            for c in cls
        ]
        need = self.policy.min_downtime_us
        if need <= 0:
            return bad
        run: list[int] = []
        length = 0
        for i, n in enumerate(self._lengths):
            if bad[i]:
                run.append(i)
                length += n
            elif bridges and cls[i] == C_UNKNOWN:
                continue
            else:
                if length < need:
                    for j in run:
                        bad[j] = False
                run, length = [], 0
        if length < need:  # the open run at the end has not lasted long enough (yet)
            for j in run:
                bad[j] = False
        return bad

    def _minute_starts(self) -> list[int]:
        """Per step, the first clock minute it could still add (earlier counted steps have
        counted the minutes before)."""
        out, last = [], -1  # the last minute already counted
        for k, b in enumerate(self.steps.bounds[:-1]):
            out.append(max(last + 1, b // MINUTE_US))
            if self.bad[k] and self._weight[k] > 0:
                last = max(last, -(-self.steps.bounds[k + 1] // MINUTE_US) - 1)
        return out

    def _step_counted(self, k: int, part: int) -> int:
        """Counted downtime in the first ``part`` microseconds of step k."""
        w = self._weight[k]
        if w <= 0 or part <= 0:
            return 0
        if not self.policy.whole_minutes:
            return part if w == 1.0 else round(part * w)
        upto = -(-(self.steps.bounds[k] + part) // MINUTE_US)  # minutes touched: < upto
        return round(max(0, upto - self._first_minute[k]) * MINUTE_US * w)

    def _upto(self, x: int) -> tuple[list[int], int]:
        k = min(bisect_right(self.steps.bounds, x) - 1, len(self._cls) - 1)
        part = x - self.steps.bounds[k]
        c = self._cls[k]
        row = [cum[k] + (part if i == c else 0) for i, cum in enumerate(self._cum)]
        return row, self._cum_bad[k] + self._step_counted(k, part)

    def counted_us(self, start: int, end: int) -> int:
        """Counted downtime in [start, end) (within [lo, hi])."""
        return self._upto(end)[1] - self._upto(start)[1]

    def breakdown(self, start: int, end: int) -> Breakdown:
        """The parts of [start, end), which must lie within [lo, hi]."""
        if not self.lo <= start <= end <= self.hi:
            raise ValueError(
                f"[{iso(start)}, {iso(end)}) is outside the timeline "
                f"[{iso(self.lo)}, {iso(self.hi)})"
            )
        a, bad_a = self._upto(start)
        b, bad_b = self._upto(end)
        parts = [y - x for x, y in zip(a, b, strict=True)]
        excluded = parts[C_MAINT] + (
            parts[C_UNKNOWN] if self.policy.unknown_counts_as == "excluded" else 0
        )
        return Breakdown(
            start,
            end,
            parts[C_UP],
            parts[C_DEGRADED],
            parts[C_DOWN],
            parts[C_MAINT],
            parts[C_UNKNOWN],
            # A whole minute can reach into maintenance: never count more than is eligible.
            min(bad_b - bad_a, max(0, (end - start) - excluded)),
            (end - start) - excluded,
        )

    def incidents(self, cluster: str, service: str, start: int, end: int) -> list[Incident]:
        """Outages with down time in [start, end); ``downtime_us`` counts only that part."""
        out: list[Incident] = []
        cur: _Outage | None = None
        b, states, flags = self.steps.bounds, self.steps.states, self.steps.maintenance
        for i, state in enumerate(states):
            s0, e0 = b[i], b[i + 1]
            if state == DOWN:
                if cur is None:
                    cur = _Outage(s0, self.steps.causes[i])
                cur.unknown += cur.pending_unknown
                cur.pending_unknown = 0
                cur.end = e0
                s, e = max(s0, start), min(e0, end)
                if e > s:
                    cur.touches = True
                    cur.downtime += self.counted_us(s, e) if self.bad[i] else 0
                cur.maintenance += (e0 - s0) if flags[i] else 0
            elif cur is not None and state in (UNKNOWN, UNMONITORED):
                cur.pending_unknown += e0 - s0
            elif cur is not None:
                out += cur.close(cluster, service, ongoing=False)
                cur = None
        if cur is not None:
            out += cur.close(cluster, service, ongoing=cur.end >= self.hi)
        return out


@dataclass
class _Outage:
    start: int
    cause: str
    end: int = 0
    downtime: int = 0
    maintenance: int = 0
    unknown: int = 0
    pending_unknown: int = 0  # unknown after the last down span: bridged if down resumes
    touches: bool = False  # has down time inside the interval asked for

    def close(self, cluster: str, service: str, ongoing: bool) -> list[Incident]:
        if not self.touches:
            return []
        return [
            Incident(
                cluster,
                service,
                self.start,
                self.end,
                self.cause,
                ongoing,
                self.downtime,
                self.maintenance,
                self.unknown,
            )
        ]


def timeline(
    transitions: Iterable[Transition],
    coverage: Iterable[Coverage],
    windows: Sequence[tuple[int, int]],
    lo: int,
    hi: int,
    policy: Policy,
) -> Timeline:
    """The whole pipeline: states, then maintenance, then classification."""
    if hi <= lo:
        raise ValueError("an empty interval has no timeline")
    steps = state_steps(transitions, coverage, lo, hi)
    return Timeline(overlay_maintenance(steps, windows), policy)


# --- budget and burn ---------------------------------------------------------------------


def error_budget(objective: float, eligible_us: int, used_us: int) -> ErrorBudget:
    """Allowed downtime is (1 - objective) of the eligible time; ``remaining_ratio`` is 1
    untouched and <= 0 once spent (an objective of 100 % has no budget: 1 until the first
    second of downtime, then -inf)."""
    allowed = (1.0 - objective) * max(eligible_us, 0) / US
    used = used_us / US
    if allowed <= 0:
        return ErrorBudget(0.0, used, -used, 1.0 if used_us == 0 else float("-inf"))
    ratio = 1.0 - used / allowed
    return ErrorBudget(allowed, used, allowed - used, ratio)


def burn_rate(objective: float, breakdown: Breakdown) -> float | None:
    """Error ratio in the window / (1 - objective): 1 spends the budget exactly over the
    period, 14.4 spends a 30-day budget in 2 days. None when the window is all maintenance.

    Unlike availability, the ratio's denominator is the whole window less maintenance:
    time the monitor did not see (before the store began, a restart, blindness) counts as
    good here. Otherwise a short blip right after the monitor starts would look like a
    month's budget burning in an hour and page; blindness has its own alert
    (SlurmMonitorBlind)."""
    window_us = breakdown.interval_us - breakdown.maintenance_us
    if window_us <= 0:
        return None
    ratio = breakdown.downtime_us / window_us
    allowed = 1.0 - objective
    if allowed <= 0:
        return 0.0 if ratio == 0 else float("inf")
    return ratio / allowed


def projected_eligible_us(
    month_start: int, month_end: int, maintenance_month_us: int, so_far: Breakdown, policy: Policy
) -> int:
    """The month's eligible time as known now: all of it, less its planned maintenance and
    the unknown time already excluded (the future is assumed eligible)."""
    excluded_unknown = so_far.unknown_us if policy.unknown_counts_as == "excluded" else 0
    return (month_end - month_start) - maintenance_month_us - excluded_unknown
