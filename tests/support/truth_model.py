"""A ground-truth timeline of one cluster's controller pair, the real monitor (ClusterHealth
and Ledger, as the daemon drives them) run against it on a freezegun clock, and what the
README promises about the counted result (the oracle of tests/unit/test_truth_model.py).

Time is in whole seconds from T0. The truth is a list of segments laid end to end:

* ``P`` the primary serves (the backup is up too), ``B`` the backup serves (a failover),
* ``N`` no controller answers, ``W`` the same seen by pings that wait ``WAIT`` seconds for
  an answer (a frozen controller: Slurm's MessageTimeout): each such round ends, and the
  next begins, ``WAIT`` seconds after it started,
* ``X`` the monitor is blind (munge broken): the cluster's state is not known to anyone,
* ``S`` the wall clock stepped forward by the segment's length: monitor time that no real
  time stands behind (no round falls in it; the first round after the step is at its end).

Monitor events at given seconds: ``kill`` (SIGKILL, restarted ``arg`` seconds later: the
cluster's truth goes on meanwhile), ``reload`` (the same config: the ledger reloads, the
health stays) and ``reload_changed`` (the cluster's table changed: a fresh ClusterHealth
started at the old one's ``undecided_since``, as ``Daemon.reload``/``_runtime`` do, and a
round at once, as the daemon schedules it).

A kill's restart may find the wall clock set back (``back`` seconds behind the killed run's
reading; within a run a step back is not followed, ``monitor/clock.py``): the new run's
dates lag the truth by ``back`` from then on, and the ledger holds at the store's
high-water mark until its clock passes it, so the stretch it replays is not counted. The
checks then read the truth on the monitor's dates (``Run.segments``, spliced: see
``_on_monitor_dates``); ``Run.truth`` keeps it in real time.

Rounds follow the daemon's schedule: every ``interval_seconds`` (2), one second after a
round that left a change pending (``confirm_interval_seconds``), at once after a start, a
restart, a changed reload or a clock step. No jitter: the README's "one round gap
(interval + jitter)" is then at most ``GAP`` seconds.
"""

from __future__ import annotations

import datetime as dt
import gc
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from freezegun import freeze_time

from monitor.config import parse_config
from monitor.health import ClusterHealth
from monitor.ledger.query import load_timeline, service_period
from monitor.ledger.sla import Breakdown, Policy
from monitor.ledger.store import LedgerStore
from monitor.ledger.timebase import US, to_us
from monitor.observation import (
    ActiveInstance,
    ClusterObservation,
    Condition,
    ServiceObservation,
    State,
)
from monitor.statestore import MIGRATIONS
from monitor.store.db import Database
from tests.support.ledger import T0, Monitor, now, observe

INTERVAL = 2  # interval_seconds: the config sets it; every other setting is the default
CONFIRM = 1  # confirm_interval_seconds (default)
GAP = INTERVAL  # the longest gap between two rounds of one run of the monitor
FAILURE_THRESHOLD = 2  # default
GRACE = 10  # takeover_grace_seconds (default)
TOLERANCE = 27  # max(3 x interval, interval + slow_command_timeout 20 + 5): a new segment

KINDS = "PBNXSW"
WAIT = 8  # a ``W`` round's ping waits this long for an answer (4 intervals) and says none


@dataclass(frozen=True)
class Segment:
    kind: str
    start: int
    end: int

    @property
    def seconds(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class Event:
    at: int
    what: str  # kill | reload | reload_changed
    arg: int = 0  # kill: seconds until the restart
    back: int = 0  # kill: the restarted run's clock is this far behind the last one's
    threshold: int = 0  # retune: the new failure_threshold (0: unchanged)


@dataclass
class Run:
    """What happened: the truth, the monitor's absences, its rounds."""

    segments: list[Segment]  # the truth on the monitor's dates (see _on_monitor_dates)
    truth: list[Segment] = field(default_factory=list)  # the truth in real time
    # (real time a run of the monitor began, its clock's lag behind real time, the monitor
    # date below which it records nothing: the store's high-water mark when it began)
    epochs: list[tuple[int, int, int]] = field(default_factory=lambda: [(0, 0, -(1 << 40))])
    absences: list[tuple[int, int]] = field(default_factory=list)
    rounds: list[int] = field(default_factory=list)
    restarts: int = 0  # kills and changed reloads: each may leave a held silence unknown
    restarted_at: list[int] = field(default_factory=list)  # when each of them happened
    grace: int = GRACE  # the longest takeover grace in force at any time
    graces: list[tuple[int, int]] = field(default_factory=lambda: [(0, GRACE)])  # (from, grace)
    threshold: int = FAILURE_THRESHOLD  # the highest failure_threshold in force
    end: int = 0


def lay(parts: list[tuple[str, int]]) -> list[Segment]:
    out, t = [], 0
    for kind, seconds in parts:
        out.append(Segment(kind, t, t + seconds))
        t += seconds
    return out


def config_text(
    state_dir: Path,
    slurm_conf: str,
    grace: int = GRACE,
    threshold: int = FAILURE_THRESHOLD,
    accounting: bool = False,
) -> str:
    return f"""
[monitor]
state_dir = "{state_dir}"
interval_seconds = {INTERVAL}
takeover_grace_seconds = {grace}
failure_threshold = {threshold}
[[clusters]]
name = "prod"
accounting = {str(accounting).lower()}
slurm_conf = "{slurm_conf}"
"""


def _segment_end(segments: list[Segment], t: int) -> int:
    return next(s.end for s in segments if s.start <= t < s.end)


def truth_at(segments: list[Segment], t: int) -> str:
    for s in segments:
        if s.start <= t < s.end:
            return s.kind
    raise ValueError(t)


def _observation(kind: str, waited: int = 0):
    if kind == "P":
        return observe(True, True)
    if kind == "B":
        return observe(False, True)
    if kind == "N":
        return observe(False, False)
    if kind == "W":
        obs = observe(False, False)
        svc = replace(obs.services["slurmctld"], evidence_seconds=waited)
        return replace(obs, services={"slurmctld": svc})
    return observe(None)  # X


def simulate(parts: list[tuple[str, int]], events: list[Event], state_dir: Path) -> Run:
    """Drive the real ClusterHealth and Ledger through the truth; the ledger is left in
    ``state_dir``."""
    segments = lay(parts)
    run = Run(segments, truth=segments, end=segments[-1].end)
    lag = 0  # how far the running monitor's clock is behind real time
    high = 0  # the latest date a round was recorded at (the store's high-water mark)
    tuning = (GRACE, FAILURE_THRESHOLD)

    def cfgs_for(grace: int, threshold: int):
        return [
            parse_config(config_text(state_dir, conf, grace, threshold))
            for conf in ("/etc/slurm/slurm.conf", "/etc/slurm/other.conf")
        ]

    cfgs = cfgs_for(*tuning)
    which = 0
    pending = sorted(events, key=lambda e: e.at)
    with freeze_time(T0) as frozen:

        def move(t: int) -> None:
            frozen.move_to(T0 + dt.timedelta(seconds=t - lag))

        m: Monitor | None = Monitor(cfgs[which], frozen)
        t = 0
        while t < run.end:
            if pending and pending[0].at <= t:
                e = pending.pop(0)
                assert m is not None
                move(max(e.at, run.rounds[-1] if run.rounds else 0))
                if e.what == "kill":
                    # SIGKILL: nothing is closed or flushed; the objects are dropped
                    m = None
                    gc.collect()
                    back = e.at + e.arg
                    run.absences.append((e.at, min(back, run.end)))
                    run.restarts += 1
                    run.restarted_at.append(e.at)
                    pending = [p for p in pending if p.at >= back]
                    if back >= run.end:
                        break
                    if e.back:
                        lag += e.back
                        run.epochs.append((back, lag, high))
                    move(back)
                    m = Monitor(cfgs[which], frozen)
                    t = back
                elif e.what == "reload":
                    m.ledger.reload(cfgs[which])
                elif e.what == "retune":  # Service.reload, then Daemon.reload's retune
                    tuning = (e.arg, e.threshold or tuning[1])
                    run.grace, run.threshold = max(run.grace, e.arg), max(run.threshold, tuning[1])
                    run.graces.append((e.at, e.arg))
                    cfgs = cfgs_for(*tuning)
                    m.ledger.reload(cfgs[which])
                    m.health.retune(cfgs[which].monitor)
                else:  # reload_changed: Service.reload, then Daemon.reload
                    which = 1 - which
                    m.ledger.reload(cfgs[which])
                    undecided = m.health.status().undecided_since
                    m.health = ClusterHealth("prod", cfgs[which].monitor, undecided or now())
                    run.restarts += 1
                    run.restarted_at.append(e.at)
                    t = max(e.at, run.rounds[-1] if run.rounds else 0)
                continue
            kind = truth_at(segments, t)
            if kind == "S":  # the clock jumped: the next round is at the step's end
                t = next(s.end for s in segments if s.start <= t < s.end)
                continue
            assert m is not None
            move(t)
            # a W round's ping waits WAIT, or until the segment ends (it can only have
            # waited while nothing answered): the round ends then
            waited = min(WAIT, _segment_end(segments, t) - t) if kind == "W" else 0
            events_ = m.health.update(_observation(kind, waited))
            m.ledger.on_round(m.health.status(), events_, now())
            run.rounds.append(t)
            high = max(high, t - lag)
            t += waited + (CONFIRM if m.health.pending else 0 if waited else INTERVAL)
        m = None
        gc.collect()
    if len(run.epochs) > 1:
        _on_monitor_dates(run)
    return run


def _on_monitor_dates(run: Run) -> None:
    """Splice the truth onto the monitor's dates: each run of the monitor dates real time t
    at t - lag, from the first date above the mark it began at (what it saw below that is
    held, not counted: the store already vouches for those dates); an earlier run's dates
    end where the next run's begin. Absences and restarts move with them."""
    spans = []  # (real start, real end, lag, first monitor date, last monitor date)
    for i, (start, lag, mark) in enumerate(run.epochs):
        end = run.epochs[i + 1][0] if i + 1 < len(run.epochs) else run.truth[-1].end
        lo = max(mark, start - lag)
        spans.append([start, end, lag, lo, max(lo, end - lag)])
    for i in range(len(spans) - 1):  # an earlier run's dates end where the next run's begin
        spans[i][4] = max(spans[i][3], min(spans[i][4], spans[i + 1][3]))

    def date(t: int) -> int:
        for start, end, lag, lo, hi in spans:
            if start <= t < end or (t == end and end == spans[-1][1]):
                return min(max(t - lag, lo), hi)
        raise ValueError(t)

    out = []
    for s in run.truth:
        for start, end, lag, lo, hi in spans:
            a, b = max(s.start, start), min(s.end, end)
            if a < b:
                a, b = min(max(a - lag, lo), hi), min(max(b - lag, lo), hi)
                if a < b:
                    out.append(Segment(s.kind, a, b))
    run.segments = out
    run.absences = [(date(a), date(b)) for a, b in run.absences]
    run.restarted_at = [date(t) for t in run.restarted_at]
    run.graces = [(date(t), g) for t, g in run.graces]
    run.end = max(out[-1].end if out else 0, date(run.truth[-1].end), 1)


@dataclass(frozen=True)
class Counted:
    """The ledger's breakdown, as service_period computes it."""

    whole: Breakdown
    timeline: object

    def part(self, start: int, end: int) -> Breakdown:
        return self.timeline.breakdown(_us(start), _us(end))  # type: ignore[attr-defined]


def _us(t: int) -> int:
    return to_us(T0 + dt.timedelta(seconds=t))


def counted(run: Run, state_dir: Path) -> Counted:
    cfg = parse_config(config_text(state_dir, "/etc/slurm/slurm.conf"))
    policy = Policy.from_settings(cfg.sla)
    db = Database.in_dir(state_dir, migrations=MIGRATIONS)
    try:
        store = LedgerStore(db)
        whole = service_period(
            store, "prod", "slurmctld", _us(0), _us(run.end), policy, 0.999
        ).breakdown
        windows = store.windows(include_removed=True)
        tl = load_timeline(store, windows, "prod", "slurmctld", _us(0), _us(run.end), policy)
    finally:
        db.close()
    return Counted(whole, tl)


def seconds(us: int) -> float:
    return us / US


def grace_at(graces: list[tuple[int, int]], t: int) -> int:
    return ([g for at, g in graces if at <= t] or [graces[0][1]])[-1]


def ambiguous(
    segments: list[Segment], i: int, graces: list[tuple[int, int]] | None = None
) -> bool:
    """An N segment that may be a takeover's moment: after a backup served, with only
    silence or blindness since, in a silence over within the grace (plus a round gap: the
    grace is measured from the last round that saw the backup, the silence's end from a
    round). The silence runs on through a clock step, not through blindness (confirmed,
    it ends the silence: README, "Takeover grace"). With ``graces`` (a reload changed the
    grace: (from when, seconds)), a silence is an outage once it outlasted the grace in
    force at any moment of it: a longer grace reloaded later holds back a verdict not yet
    reached, it does not undo one."""
    graces = graces or [(0, GRACE)]
    end = i
    while end + 1 < len(segments) and segments[end + 1].kind in "NSW":
        end += 1
    for j in range(i - 1, -1, -1):
        kind = segments[j].kind
        if kind == "B":
            # a clock step is monitor time, not real time: no part of the silence
            steps = sum(s.seconds for s in segments[j + 1 : end + 1] if s.kind == "S")
            served, over = segments[j].end, segments[end].end
            last = max(grace_at(graces, t) for t in range(over - 2 * GAP, over + 1))
            checkpoints = [(at, grace_at(graces, at - 1)) for at, _ in graces if served < at < over]
            # a round that waited WAIT sees the silence's end that much later
            gap = WAIT if any(s.kind == "W" for s in segments[j + 1 : end + 1]) else GAP
            return all(
                c - served - steps <= g + gap for c, g in [*checkpoints, (over, last)]
            )
        if kind not in "NXSW":
            return False
    return False


def simulate_in_tempdir(parts, events) -> tuple[Run, Counted]:
    with tempfile.TemporaryDirectory(prefix="truth-model-") as d:
        run = simulate(parts, events, Path(d))
        return run, counted(run, Path(d))


def _dbd_observation(up: bool):
    svc = ServiceObservation(
        "slurmdbd",
        State.UP if up else State.DOWN,
        Condition.OK if up else Condition.DBD_UNREACHABLE,
        up,
        None,
        ActiveInstance("db1", "primary") if up else None,
    )
    return ClusterObservation("prod", now(), (), {"slurmdbd": svc})


def simulate_two_lanes(
    parts: list[tuple[str, int]], dbd: list[tuple[str, int]], state_dir: Path
) -> tuple[Run, list[Segment]]:
    """slurmctld's truth (``parts``: P, B, N, X) and slurmdbd's (``dbd``: U up, D down),
    each probed by its own lane as the daemon does (``Daemon._take``: one ClusterHealth,
    ``update(obs, (service,))``, every lane's round to the ledger), slurmdbd's rounds a
    second after slurmctld's. No monitor events."""
    segments, dbd_segments = lay(parts), lay(dbd)
    run = Run(segments, truth=segments, end=min(segments[-1].end, dbd_segments[-1].end))
    cfg = parse_config(config_text(state_dir, "/etc/slurm/slurm.conf", accounting=True))
    with freeze_time(T0) as frozen:
        m = Monitor(cfg, frozen)
        due = {"slurmctld": 0, "slurmdbd": 1}
        while (t := min(due.values())) < run.end:
            service = min(due, key=lambda s: (due[s], s))
            frozen.move_to(T0 + dt.timedelta(seconds=t))
            if service == "slurmctld":
                obs = _observation(truth_at(segments, t))
            else:
                obs = _dbd_observation(truth_at(dbd_segments, t) == "U")
            events = m.health.update(obs, (service,))
            m.ledger.on_round(m.health.status(), events, now())
            run.rounds.append(t)
            due[service] = t + (CONFIRM if m.health.pending_for((service,)) else INTERVAL)
        del m
        gc.collect()
    return run, dbd_segments


def counted_service(run: Run, state_dir: Path, service: str) -> Counted:
    cfg = parse_config(config_text(state_dir, "/etc/slurm/slurm.conf", accounting=True))
    policy = Policy.from_settings(cfg.sla)
    db = Database.in_dir(state_dir, migrations=MIGRATIONS)
    try:
        store = LedgerStore(db)
        start, end = _us(0), _us(run.end)
        whole = service_period(store, "prod", service, start, end, policy, 0.999).breakdown
        windows = store.windows(include_removed=True)
        tl = load_timeline(store, windows, "prod", service, start, end, policy)
    finally:
        db.close()
    return Counted(whole, tl)
