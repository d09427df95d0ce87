"""The SLA ledger: the daemon's durable memory of what happened, and the SLA figures.

Each round is recorded in memory (``record``: never touches the store, never waits) and
written (``write``) in one transaction: at once when it holds a transition or while a
service of the cluster is not up, otherwise at least once per probe interval, so healthy
clusters' heartbeat-only rounds share their commits and a SIGKILL loses at most one
interval of what the monitor saw. ``on_round`` does both, for callers without a writer
thread; the daemon records on the round thread and writes on its store thread
(``monitor.storeworker``), so a frozen disk never stalls probing. Heartbeats are one row
per continuous run of rounds, extended in place, so the store grows with state changes,
not with probes, and the time the monitor was not running is known exactly.

Two locks: ``_lock`` guards the in-memory state and is never held across store I/O;
``_io`` serialises store access. Readers on the round thread (``figures``) wait for the
store only briefly and otherwise answer from the cache.

It never raises into the daemon: when the store fails (read-only, full, locked, corrupt)
it keeps the unwritten events in memory, in order, retries on the next round, and reports
itself unhealthy (``healthy``, ``last_error``, ``problems()``) until they are written.

Times never run backwards in the ledger. When the wall clock steps back, the ledger holds
at its high-water mark: heartbeats do not advance and new events are dated at the mark
until the clock has caught up, so the replayed stretch is neither counted twice nor
negative (it is not counted at all). A new run starts from the store's high-water mark too.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import structlog

from monitor import __version__
from monitor.config import Config
from monitor.errors import StoreError
from monitor.health import HealthEvent
from monitor.ledger.figures import Basis, FigureCache
from monitor.ledger.maintenance import StoredWindow, active_at, config_key
from monitor.ledger.query import cluster_objective, cluster_services
from monitor.ledger.sla import Policy
from monitor.ledger.store import EventRow, Heartbeat, LedgerStore, open_database
from monitor.ledger.timebase import US, to_us
from monitor.probes.base import Clock, utc_now
from monitor.snapshot import ClusterStatus, SlaFigures
from monitor.store.db import Database, StoreBusy

log = structlog.get_logger("slurm_sla_monitor")

MAX_PENDING_EVENTS = 100_000
_NEVER = -(1 << 62)
# How long a reader on the round thread waits for the store before answering from memory:
# longer than a healthy commit, short enough that a frozen disk costs a round little.
READ_WAIT_SECONDS = 0.5


def gap_tolerance_seconds(config: Config) -> float:
    """Rounds further apart than this start a new heartbeat segment (the gap is unknown).
    The same staleness limit as ``/healthz``: a slow round is not an outage of the monitor."""
    m = config.monitor
    return max(3 * m.interval_seconds, m.interval_seconds + m.slow_command_timeout_seconds + 5)


@dataclass
class _Cluster:
    floor: int = _NEVER  # event and heartbeat times are raised to this (clock stepped back)
    high_water: int = _NEVER  # latest instant recorded
    committed: int | None = None  # last heartbeat known to be in the store
    run_first: int | None = None  # this run's first heartbeat of the cluster
    segment: int | None = None  # local key of the open heartbeat segment
    seg_first: int = 0
    seg_last: int = 0  # how far the open segment vouches (see _heartbeat)
    seen_last: int = 0  # the last round recorded: whether the next one continues the segment
    rounds: int = 0
    states: dict[str, str] = field(default_factory=dict)  # service -> state this run
    last_at: dict[str, int] = field(default_factory=dict)  # service -> last transition
    version: int = 0  # grows with every committed service transition
    held_us: int = 0  # how far the last round lay before the high-water mark (not counted)
    # A segment a gap closed while a hold kept it short of its last round: (key, first,
    # last round, rounds), extended to that round once the hold is decided (see _heartbeat)
    parked: tuple[int, int, int, int] | None = None


class Ledger:
    """RoundSink (``on_round``) and SLA source (``figures``) for the daemon."""

    def __init__(
        self,
        config: Config,
        connect: Callable[[], Database],
        *,
        clock: Clock = utc_now,
        refresh_seconds: float = 60.0,
        retry_seconds: float = 30.0,
        max_pending_events: int = MAX_PENDING_EVENTS,
        close_database: bool = True,
    ) -> None:
        self._connect = connect
        self._close_database = close_database
        self._clock = clock
        self._retry_us = int(retry_seconds * US)
        self._max_pending = max_pending_events
        self._lock = threading.RLock()  # in-memory state; never held across store I/O
        self._io = threading.Lock()  # store access, one at a time
        self._started_us = to_us(clock())
        self._store: LedgerStore | None = None
        self._run_id: int | None = None
        self._last_attempt: int | None = None
        self._last_flush: int | None = None
        self._clusters: dict[str, _Cluster] = {}
        self._segment_ids: dict[int, int] = {}  # local segment key -> row id
        self._next_segment = 0
        self._seq = 0
        self._pending: list[EventRow] = []
        self._dirty: dict[int, Heartbeat] = {}
        self._windows: list[StoredWindow] = []
        self._maintenance_version = -1
        self._urgent = False  # a write is due at once (a transition, a service not up)
        self._windows_stale = False  # the config's windows changed: sync at the next write
        self._forget_figures = False
        self._figures = FigureCache(lambda: to_us(self._clock()), int(refresh_seconds * US))
        # The last figures per (cluster, service), for the ``_wanted`` and maintenance version
        # they were computed for (under _io); ``_figures_stale`` (under _lock) names the
        # clusters whose history changed since (a commit, a transition).
        self._rows: dict[tuple[str, str], SlaFigures] = {}
        self._rows_for: tuple[tuple[tuple[str, str, float], ...], int] | None = None
        self._rows_out: tuple[SlaFigures, ...] | None = None
        self._figures_stale: set[str] = set()
        self.lost_events = 0
        self.last_error: str | None = None
        self.resumed: dict[tuple[str, str], tuple[str, int]] = {}
        self._apply_config(config)
        with self._io:
            self._open()

    @classmethod
    def open(cls, config: Config, **kwargs: object) -> Ledger:
        """A ledger on ``state_dir``'s database (opened lazily: a failure is reported and
        retried, it does not stop the monitor)."""
        state_dir = config.monitor.state_dir
        return cls(config, lambda: open_database(state_dir), **kwargs)  # type: ignore[arg-type]

    # -- health of the store -------------------------------------------------------------
    @property
    def healthy(self) -> bool:
        # Heartbeats wait up to HEARTBEAT_FLUSH_SECONDS by design; events never wait.
        return self._store is not None and not self._pending and self.last_error is None

    @property
    def pending_events(self) -> int:
        return len(self._pending)

    def problems(self) -> list[str]:
        """For ``/healthz``: empty when the store is open, everything is written and every
        cluster's rounds are counted."""
        out = [
            f"SLA ledger of cluster {name}: this run's clock is {cs.held_us / US:.0f} s behind "
            "what the store already holds (the wall clock was set back, or was ahead when "
            "those records were written); nothing is counted until it catches up"
            for name, cs in sorted(list(self._clusters.items()))  # a copy: rounds add
            if cs.held_us > self._tolerance_us
        ]
        if self.healthy:
            return out
        text = f"state store: {self.last_error or 'not open'}"
        if self._pending:
            text += f"; {len(self._pending)} event(s) waiting to be written"
        if self.lost_events:
            text += f"; {self.lost_events} event(s) dropped"
        return [text, *out]

    # -- config --------------------------------------------------------------------------
    def _apply_config(self, config: Config) -> None:
        self.config = config
        self._policy = Policy.from_settings(config.sla)
        self._tolerance_us = int(gap_tolerance_seconds(config) * US)
        # Heartbeat-only rounds of healthy clusters share a commit at least once an interval.
        self._flush_us = int(config.monitor.interval_seconds * US)
        # (cluster, service, objective) for every service with an SLA, in the config's order
        self._wanted = tuple(
            (c.name, service, cluster_objective(c, service))
            for c in config.clusters
            for service in cluster_services(c)
        )
        self._wanted_by_cluster: dict[str, list[tuple[str, str, float]]] = {}
        for w in self._wanted:
            self._wanted_by_cluster.setdefault(w[0], []).append(w)

    def reload(self, config: Config) -> None:
        """Take a new (validated) config: settings, objectives, the config's windows. The
        windows are written now if the store answers at once, otherwise by the next write:
        a reload never waits long for the disk."""
        with self._lock:
            self._apply_config(config)
            self._forget_figures = True
            self._windows_stale = True
            store = self._store
        if store is None or not self._io.acquire(timeout=READ_WAIT_SECONDS):
            return
        try:
            with store.db.waiting_at_most(READ_WAIT_SECONDS):
                if self._guard(self._sync_windows):
                    with self._lock:
                        self._windows_stale = False
        finally:
            self._io.release()

    def _config_windows(self, now_us: int) -> list[StoredWindow]:
        tz = self.config.sla.timezone
        source = f"config:{self.config.source}" if self.config.source else "config"
        return [
            StoredWindow(
                id=0,
                origin="config",
                start_us=to_us(w.start),
                end_us=to_us(w.end),
                clusters=w.clusters,
                services=w.services,
                reason=w.reason,
                repeat=w.repeat,
                until_us=to_us(w.until) if w.until is not None else None,
                timezone=tz,
                created_us=now_us,
                created_by=source,
                config_key=config_key(w),
            )
            for w in self.config.maintenance
        ]

    def _sync_windows(self) -> None:
        # under _io
        assert self._store is not None
        now = to_us(self._clock())
        added, retired = self._store.sync_config(self._config_windows(now), "config", now)
        if added or retired:
            log.info("ledger.maintenance_synced", added=added, retired=retired)
        self._load_windows(force=True)

    def _load_windows(self, force: bool = False) -> None:
        assert self._store is not None
        version = self._store.maintenance_version()
        if force or version != self._maintenance_version:
            windows = self._store.windows(include_removed=True)
            with self._lock:
                self._windows, self._maintenance_version = windows, version

    # -- opening -------------------------------------------------------------------------
    def _open(self) -> None:
        # under _io: the store's reads and the run's first row, then the state in memory
        self._last_attempt = to_us(self._clock())
        try:
            store = LedgerStore(self._connect())
            run_id = store.begin_run(
                self._started_us, os.getpid(), socket.gethostname(), __version__
            )
            last = store.last_heartbeats()
            names = {c.name for c in self.config.clusters} | set(last)
            marks = {name: store.high_water(name) for name in names}
            resumed = {k: (v[0], v[1]) for k, v in store.last_service_states().items()}
        except StoreError as exc:
            self._fail(exc, "ledger.open_failed")
            return
        with self._lock:
            for cluster, at in last.items():
                self._cluster(cluster).committed = at
            self._rows_for = None  # every cluster's figures, afresh
            for name, mark in marks.items():
                if mark is not None:
                    self._raise_floor(name, mark)
            self.resumed = resumed
            self._store, self._run_id = store, run_id
            self._windows_stale = False
        self._guard(self._sync_windows)
        log.info(
            "ledger.opened",
            path=str(store.path),
            run=run_id,
            last_states={f"{c}/{s}": st for (c, s), (st, _) in self.resumed.items()},
            last_heartbeats={
                n: dt.datetime.fromtimestamp(c.committed / US, dt.UTC).isoformat()
                for n, c in self._clusters.items()
                if c.committed is not None
            },
        )

    def _raise_floor(self, cluster: str, mark: int) -> None:
        """Nothing this run records may predate what the store already holds."""
        cs = self._cluster(cluster)
        cs.floor = max(cs.floor, mark)
        cs.high_water = max(cs.high_water, mark)
        self._pending = [
            replace(e, at_us=max(e.at_us, mark), confirmed_us=max(e.confirmed_us, mark))
            if e.cluster == cluster
            else e
            for e in self._pending
        ]

    def _fail(self, exc: StoreError, event: str) -> None:
        if isinstance(exc, StoreBusy):
            return  # a reader that would not wait; a stalled write is reported by its thread
        with self._lock:
            if str(exc) != self.last_error:
                log.error(event, error=str(exc), pending=len(self._pending))
            self.last_error = str(exc)

    def _guard(self, action: Callable[[], None]) -> bool:
        try:
            action()
            return True
        except StoreError as exc:
            self._fail(exc, "ledger.store_failed")
            return False

    def _cluster(self, name: str) -> _Cluster:
        return self._clusters.setdefault(name, _Cluster())

    # -- the round sink ------------------------------------------------------------------
    def on_round(
        self, status: ClusterStatus, events: Sequence[HealthEvent], now: dt.datetime
    ) -> None:
        """Record the round, and write what is due before returning (or keep it and retry
        when the store fails). Never raises. For callers without a store thread."""
        if self.record(status, events, now):
            self.write(force=False)

    def record(
        self, status: ClusterStatus, events: Sequence[HealthEvent], now: dt.datetime
    ) -> bool:
        """Record the round's events and heartbeat in memory; never touches the store.
        True when a write is due now (see ``write``)."""
        with self._lock:
            cs = self._cluster(status.name)
            observed = to_us(status.last_probe_at or now)
            recorded = to_us(now)
            # The clock went back when even the time of recording is behind what is
            # recorded. A round dated before another's is not that: each lane's round is
            # dated by its start, and a slurmctld round waits up to MessageTimeout (10 s)
            # for a frozen controller's ping while the slurmdbd lane records later rounds
            # (taken as a step, it raised the floor and cut that much from the start of the
            # outage the slow round saw).
            if recorded < cs.high_water and cs.floor < cs.high_water:
                log.warning(
                    "ledger.clock_stepped_back",
                    cluster=status.name,
                    by_s=(cs.high_water - recorded) / US,
                )
                cs.floor = cs.high_water
            cs.held_us = max(0, cs.floor - observed)
            t = max(observed, cs.floor)
            if cs.run_first is None:
                cs.run_first = t
            for event in events:
                self._queue(cs, event, recorded)
            self._resync(cs, status, t, recorded)
            hold = to_us(status.undecided_since) if status.undecided_since else None
            self._heartbeat(cs, status.name, t, hold)
            # While a service is not up, every round's heartbeat is written at once: a
            # SIGKILL then loses at most the round in progress of the downtime it saw.
            if any(svc.up is not True for svc in status.services.values()):
                self._urgent = True
            return self._due()

    def _queue(self, cs: _Cluster, e: HealthEvent, recorded: int) -> None:
        floor = max(cs.floor, cs.run_first or _NEVER)
        if e.kind == "service":
            floor = max(floor, cs.last_at.get(e.service, _NEVER))
        at = max(to_us(e.at), floor)
        confirmed = max(to_us(e.confirmed_at), at)
        self._append(
            EventRow(
                e.cluster, e.kind, e.subject, e.service, e.daemon, e.host, e.role,
                e.old, e.new, e.cause, at, confirmed, recorded, self._next_seq(),
            )
        )  # fmt: skip
        cs.high_water = max(cs.high_water, at)
        if e.kind == "service":
            cs.states[e.service] = e.new
            cs.last_at[e.service] = at

    def _resync(self, cs: _Cluster, status: ClusterStatus, t: int, recorded: int) -> None:
        """Make the ledger agree with the health state machine (after a lost event, or a
        cluster's health restarted by a reload): record the difference as a transition."""
        for name, svc in status.services.items():
            state = svc.state.value
            known = cs.states.get(name, "unknown")
            if state == known:
                continue
            at = max(
                to_us(svc.since), cs.floor, cs.run_first or _NEVER, cs.last_at.get(name, _NEVER)
            )
            at = min(at, t)
            self._append(
                EventRow(
                    status.name, "service", name, name, "", "", "", known, state,
                    "ledger resync: " + svc.cause, at, t, recorded, self._next_seq(),
                )
            )  # fmt: skip
            cs.states[name], cs.last_at[name] = state, at

    def _heartbeat(self, cs: _Cluster, cluster: str, t: int, hold: int | None) -> None:
        """Extend the open segment to ``t``, but not past ``hold``: the health machine may
        still date a change back there (a silence the takeover grace holds, an unconfirmed
        change), so what it shows as up since then is not yet known. Once decided, the next
        round vouches for the whole stretch; a monitor killed before that leaves it
        unknown, where the segment ends (a held silence was counted up before)."""
        vouched = t if hold is None else min(t, hold)
        if cs.segment is None or t - cs.seen_last > self._tolerance_us:
            if cs.segment is not None and cs.seg_last < cs.seen_last:
                # A gap (a stall, a clock step) ends a segment the hold kept short: its
                # held rounds were seen, so once decided they are vouched for, as they
                # would be in one segment (else a seen outage's start stayed unknown).
                cs.parked = (cs.segment, cs.seg_first, cs.seen_last, cs.rounds)
            cs.segment, self._next_segment = self._next_segment, self._next_segment + 1
            cs.seg_first = cs.seg_last = t
            cs.rounds = 1
        else:
            cs.seg_last = max(cs.seg_last, vouched)
            cs.rounds += 1
        cs.seen_last = max(cs.seen_last, t)  # a slow lane's round is dated before the other's
        cs.high_water = max(cs.high_water, cs.seg_last)
        if cs.parked is not None and (hold is None or hold >= cs.parked[2]):
            key, first, last, rounds = cs.parked
            cs.parked = None
            self._dirty[key] = Heartbeat(cluster, self._segment_ids.get(key), first, last, rounds)
        self._dirty[cs.segment] = Heartbeat(
            cluster, self._segment_ids.get(cs.segment), cs.seg_first, cs.seg_last, cs.rounds
        )

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _append(self, row: EventRow) -> None:
        self._pending.append(row)
        excess = len(self._pending) - self._max_pending
        if excess > 0:
            del self._pending[:excess]
            self.lost_events += excess
            log.error("ledger.events_dropped", dropped=excess, total=self.lost_events)

    def _due(self) -> bool:
        if self._urgent or self._pending or self._windows_stale:
            return True
        if not self._dirty:
            return False
        return self._last_flush is None or to_us(self._clock()) - self._last_flush >= self._flush_us

    def write(self, force: bool = True) -> bool:
        """Write what is waiting, when due (always with ``force``): events and heartbeats in
        one transaction. Holds ``_io`` for the store's time, never ``_lock``, so rounds keep
        being recorded while a write hangs. True when no event is left waiting."""
        with self._io:
            with self._lock:
                if not force and not self._due():
                    return not self._pending
                store, stale = self._store, self._windows_stale
                now = to_us(self._clock())
                retry = self._last_attempt is None or now - self._last_attempt >= self._retry_us
            if store is None:
                if not retry:
                    return False
                self._open()  # syncs the windows too
                store = self._store
                if store is None:
                    return False
            elif stale:
                with self._lock:
                    self._windows_stale = False
                self._guard(self._sync_windows)
            return self._write_batch(store)

    def _write_batch(self, store: LedgerStore) -> bool:
        with self._lock:
            events = list(self._pending)
            taken = dict(self._dirty)
            beats = [replace(hb, segment_id=self._segment_ids.get(k)) for k, hb in taken.items()]
            run_id = self._run_id
            self._urgent = False
        assert run_id is not None
        try:
            ids = store.record(run_id, events, beats) if events or beats else []
        except StoreError as exc:
            with self._lock:
                self._urgent = True
            self._fail(exc, "ledger.write_failed")
            return False
        with self._lock:
            for key, row_id in zip(taken, ids, strict=True):
                self._segment_ids[key] = row_id
                hb = taken[key]
                cs = self._cluster(hb.cluster)
                cs.committed = max(cs.committed or _NEVER, hb.last_us)
                self._figures_stale.add(hb.cluster)
                if self._dirty.get(key) is hb:  # not extended meanwhile
                    del self._dirty[key]
            for e in events:
                if e.kind == "service":
                    self._cluster(e.cluster).version += 1
                    self._figures_stale.add(e.cluster)
            written = {e.seq for e in events}
            self._pending = [e for e in self._pending if e.seq not in written]
            self._last_flush = to_us(self._clock())
            if self.last_error is not None:
                log.info("ledger.store_recovered", error_was=self.last_error)
                self.last_error = None
            return not self._pending

    # -- maintenance lookups -------------------------------------------------------------
    def in_maintenance(self, cluster: str, service: str, at: dt.datetime) -> StoredWindow | None:
        """The maintenance window covering ``at`` for this service, if any."""
        with self._lock:
            return active_at(self._windows, cluster, service, to_us(at))

    # -- figures -------------------------------------------------------------------------
    def figures(self, now: dt.datetime) -> tuple[SlaFigures, ...]:
        """Month-to-date SLA figures per configured service, as of each cluster's last
        committed heartbeat (``now`` is not used: the figures describe what was seen).
        Cached; see ``FigureCache``. Never raises, and waits for the store at most
        ``READ_WAIT_SECONDS``: on a store failure or a busy store, the last figures."""
        with self._lock:
            store, wanted = self._store, self._wanted
        if store is None or not self._io.acquire(timeout=READ_WAIT_SECONDS):
            return tuple(self._figures.last(c, s, o) for c, s, o in wanted)
        try:
            with store.db.waiting_at_most(READ_WAIT_SECONDS):
                return self._compute_figures(store, wanted)
        finally:
            self._io.release()

    def _compute_figures(
        self, store: LedgerStore, wanted: tuple[tuple[str, str, float], ...]
    ) -> tuple[SlaFigures, ...]:
        # under _io. Only the clusters whose history changed since their figures were last
        # computed are looked at again (their FigureCache entries would answer the same):
        # every round reads the figures (alerts, snapshot), and at 1,000 clusters a pass over
        # the whole fleet per round made the rounds quadratic in clusters.
        if self._forget_figures:
            self._forget_figures = False
            self._figures.forget()
            self._rows_for = None
        busy = not self._guard(self._load_windows) and self.last_error is None
        if busy:
            return tuple(self._figures.last(c, s, o) for c, s, o in wanted)
        with self._lock:
            basis = Basis(
                self._policy, self.config.sla.timezone, self._windows, self._maintenance_version
            )
            rows_for = (wanted, basis.maintenance_version)
            last = self._rows_for
            if last is None or last[0] is not wanted or last[1] != rows_for[1]:
                self._rows_for, self._rows, self._rows_out = rows_for, {}, None
                todo: Sequence[tuple[str, str, float]] = wanted
            else:
                by_cluster = self._wanted_by_cluster
                todo = [w for c in self._figures_stale for w in by_cluster.get(c, ())]
            self._figures_stale = set()
            marks = {
                c: (cs.committed, cs.version)
                for c in {w[0] for w in todo}
                if (cs := self._clusters.get(c)) is not None
            }
        retry: set[str] = set()
        for cluster, service, objective in todo:
            committed, version = marks.get(cluster, (None, 0))
            row = None
            if committed is not None and not busy:
                try:
                    row = self._figures.get(
                        store, basis, cluster, service, objective, committed, version
                    )
                except StoreBusy:
                    busy = True  # one wait per call, not one per service
                except StoreError as exc:
                    self._fail(exc, "ledger.read_failed")
            if row is None:
                row = self._figures.last(cluster, service, objective)
                if committed is not None:
                    retry.add(cluster)  # not computed: again at the next call
            self._rows[(cluster, service)] = row
        if retry:
            with self._lock:
                self._figures_stale |= retry
        if todo or self._rows_out is None:
            self._rows_out = tuple(self._rows[(c, s)] for c, s, _ in wanted)
        return self._rows_out

    def flush(self) -> bool:
        """Try to write what is waiting now; True when nothing is left."""
        self.write()
        return self.healthy

    def close(self) -> None:
        """Write what is waiting, then close the database (unless it is shared: see
        ``close_database``)."""
        self.write()
        with self._io:
            with self._lock:
                if self._pending:
                    log.error("ledger.closed_with_unwritten_events", lost=len(self._pending))
                store, self._store = self._store, None
            if store is not None and self._close_database:
                store.db.close()
