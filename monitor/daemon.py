"""The daemon's core: one APScheduler job per cluster and service, probe rounds, health,
the snapshot.

Each cluster has a lane per service it watches (slurmctld, and slurmdbd with accounting):
a job each, so a controller that makes ping wait 10 s never holds slurmdbd's verdict back.
The jobs run on a bounded pool with ``max_instances=1`` and ``coalesce``, so a hung
cluster never delays another and never piles up rounds. After a round that shows an
unconfirmed change, its job is pulled forward to run again in
``confirm_interval_seconds``: a verdict takes one interval plus seconds, not threshold x
interval, and a settled cluster is not probed more often than its interval.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

import structlog
from apscheduler.executors.pool import ThreadPoolExecutor as JobPool
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from prometheus_client import CollectorRegistry

from monitor.clock import ClockStep, MonotonicClock
from monitor.coalesce import CoalescedAction
from monitor.config import ClusterConfig, Config
from monitor.health import ClusterHealth, HealthEvent
from monitor.observation import ClusterObservation
from monitor.probe_failures import ProbeFailures, log_changes
from monitor.prober import ClusterProber
from monitor.probes.base import Clock, Runner
from monitor.runner import run_command
from monitor.selfmetrics import MonitorMetrics
from monitor.snapshot import ClusterStatus, SlaFigures, Snapshot, SnapshotBox, StoreStatus
from monitor.verdict import ProbeRound, evaluate

log = structlog.get_logger("slurm_sla_monitor")

# While the daemon runs, a round asks for a new snapshot and gets it within this bound:
# at fleet size (~200 rounds a second) one snapshot per round cost the whole fleet per round.
PUBLISH_PERIOD_SECONDS = 0.25


class RoundSink(Protocol):
    """Something that acts on each round's result (the ledger, the alert engine)."""

    def on_round(
        self, status: ClusterStatus, events: Sequence[HealthEvent], now: dt.datetime
    ) -> None: ...


@dataclass
class _Lane:
    """One service's rounds of one cluster."""

    service: str
    lock: threading.Lock = field(default_factory=threading.Lock)  # one round at a time
    last_round_started: float | None = None  # time.monotonic(): the stall guard reads it
    last_round_ended: float | None = None  # a long round is not an overdue one


@dataclass
class _ClusterRuntime:
    config: ClusterConfig
    prober: ClusterProber
    health: ClusterHealth
    lanes: dict[str, _Lane]
    # Health, its status and the sinks take one lane's round at a time, in order.
    health_lock: threading.Lock = field(default_factory=threading.Lock)
    status: ClusterStatus | None = None  # as of its last round: publish() reuses it
    failures: ProbeFailures = field(default_factory=ProbeFailures)  # logged once per change


class Daemon:
    def __init__(
        self,
        config: Config,
        registry: CollectorRegistry,
        *,
        clock: Clock | None = None,
        run: Runner = run_command,
        sinks: Sequence[RoundSink] = (),
        sla_source: Callable[[dt.datetime], tuple[SlaFigures, ...]] | None = None,
        store_status: Callable[[], StoreStatus] | None = None,
        problems: Callable[[], list[str]] | None = None,
    ) -> None:
        self.config = config
        if clock is None:
            clock = MonotonicClock()
        if isinstance(clock, MonotonicClock) and clock.on_step is None:
            clock.on_step = self._clock_stepped  # the clock shared with the sinks reports here
        self._clock = clock
        self._run = run
        self._sinks = list(sinks)
        self._sla_source = sla_source
        self._store_status = store_status
        self._problems = problems
        self.metrics = MonitorMetrics(registry)
        self.started_at = clock()
        self.box = SnapshotBox(Snapshot(self.started_at, self.started_at))
        self._publish_lock = threading.Lock()
        self._publisher = CoalescedAction(
            self.publish, PUBLISH_PERIOD_SECONDS, name="snapshot-publisher"
        )
        workers = max(8, config.monitor.max_workers * 4)
        self._probe_pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="probe")
        self._clusters: dict[str, _ClusterRuntime] = {}
        self._scheduler = BackgroundScheduler(
            executors={"default": JobPool(config.monitor.max_workers)},
            job_defaults={"coalesce": True, "max_instances": 1},
            timezone=dt.UTC,
        )
        self._running = False
        self._guard_stop = threading.Event()
        self._guard: threading.Thread | None = None
        for cluster in config.clusters:
            self._clusters[cluster.name] = self._runtime(cluster)

    def _runtime(
        self, cluster: ClusterConfig, undecided_since: dt.datetime | None = None
    ) -> _ClusterRuntime:
        """``undecided_since``: what the cluster's previous health had not decided yet (a
        reload replaced it): the new one knows nothing from there, so it is not up."""
        prober = ClusterProber(
            cluster, self.config.monitor, self._probe_pool, run=self._run, clock=self._clock
        )
        return _ClusterRuntime(
            cluster,
            prober,
            ClusterHealth(cluster.name, self.config.monitor, undecided_since or self._clock()),
            {service: _Lane(service) for service in prober.lanes()},
        )

    def lane_ages(self) -> dict[tuple[str, str], float | None]:
        """(cluster, service) -> seconds since that lane's last round ended (monotonic),
        None before its first: how old each verdict is (an HA peer's view reads it)."""
        now = time.monotonic()
        return {
            (name, service): None if lane.last_round_ended is None else now - lane.last_round_ended
            for name, runtime in list(self._clusters.items())
            for service, lane in list(runtime.lanes.items())
        }

    @property
    def clock(self) -> Clock:
        """The clock every time of this daemon comes from (the sinks should share it)."""
        return self._clock

    # -- scheduling ----------------------------------------------------------------------
    def start(self) -> None:
        for name, runtime in self._clusters.items():
            for service in runtime.lanes:
                self._schedule(name, service, first_run=dt.datetime.now(dt.UTC))
        self._publisher.start()
        self._scheduler.start()
        self._running = True
        self._guard_stop.clear()
        self._guard = threading.Thread(target=self._guard_loop, name="round-guard", daemon=True)
        self._guard.start()
        log.info(
            "daemon.started",
            clusters=sorted(self._clusters),
            interval_s=self.config.monitor.interval_seconds,
        )

    def _schedule(self, name: str, service: str, first_run: dt.datetime) -> None:
        """(Re)place a lane's job. ``first_run`` is required: APScheduler takes a job added
        with no next run time as paused, which once stopped all probing on reload."""
        m = self.config.monitor
        self._scheduler.add_job(
            self.cycle,
            IntervalTrigger(seconds=m.interval_seconds, jitter=m.jitter_seconds),
            args=[name, service],
            id=_job_id(name, service),
            name=f"probe {name} {service}",
            replace_existing=True,
            misfire_grace_time=max(1, int(m.interval_seconds)),
            next_run_time=first_run,
        )

    def _next_run(self, name: str, service: str) -> dt.datetime:
        """When the lane's job is due now, or at once if it has none."""
        job = self._scheduler.get_job(_job_id(name, service))
        now = dt.datetime.now(dt.UTC)
        if job is None or job.next_run_time is None:
            return now
        return min(
            job.next_run_time, now + dt.timedelta(seconds=self.config.monitor.interval_seconds)
        )

    def _run_now(self, name: str, service: str) -> None:
        job = self._scheduler.get_job(_job_id(name, service))
        if job is not None:
            job.modify(next_run_time=dt.datetime.now(dt.UTC))

    # -- the guard: probing never stops ----------------------------------------------------
    def _guard_loop(self) -> None:
        """Once a second: read the clock (which reports wall-clock steps) and start any
        cluster's round that is overdue by the monotonic clock. APScheduler waits on wall
        time; a step back would otherwise pause probing for the size of the step."""
        while not self._guard_stop.wait(1.0):
            try:
                self._clock()
                self._kick_overdue(time.monotonic())
            except Exception:  # noqa: BLE001 - the guard must outlive a bad moment
                log.exception("daemon.guard_failed")

    def _kick_overdue(self, now_mono: float) -> None:
        if not self.running:
            return
        m = self.config.monitor
        late = 2 * m.interval_seconds + m.jitter_seconds + 1
        for name, runtime in list(self._clusters.items()):
            for lane in list(runtime.lanes.values()):
                if lane.last_round_started is None or lane.lock.locked():
                    continue
                last = max(lane.last_round_started, lane.last_round_ended or 0.0)
                if now_mono - last <= late:
                    continue
                log.warning(
                    "probe.round_overdue",
                    cluster=name,
                    service=lane.service,
                    seconds=round(now_mono - last, 1),
                )
                self.metrics.overdue_rounds.labels(name, lane.service).inc()
                self._run_now(name, lane.service)

    def _clock_stepped(self, step: ClockStep) -> None:
        log.warning(
            "clock.stepped",
            seconds=round(step.seconds, 3),
            wall=step.wall.isoformat(),
            followed=step.followed,
        )
        self.metrics.clock_steps.inc()
        if isinstance(self._clock, MonotonicClock):
            self.metrics.clock_offset.set(self._clock.offset_seconds)
        if self._running:
            for name, runtime in list(self._clusters.items()):
                for service in runtime.lanes:
                    self._run_now(name, service)  # APScheduler's wall-clock wait is wrong now

    def stop(self, wait: bool = True) -> None:
        """Drain: let rounds in progress finish, then stop."""
        self._running = False
        self._guard_stop.set()
        if self._scheduler.running:
            self._scheduler.shutdown(wait=wait)
        self._probe_pool.shutdown(wait=False, cancel_futures=True)
        self._publisher.stop()
        self.publish()
        log.info("daemon.stopped")

    @property
    def running(self) -> bool:
        return self._running and self._scheduler.running

    # -- one round -----------------------------------------------------------------------
    def cycle(self, name: str, service: str | None = None) -> ClusterStatus | None:
        """One round of the cluster's ``service`` lane; of each lane in turn if None."""
        runtime = self._clusters.get(name)
        if runtime is None:
            return None
        if service is None:
            statuses = [self.cycle(name, s) for s in list(runtime.lanes)]
            return statuses[-1] if statuses else None
        lane = runtime.lanes.get(service)
        if lane is None:
            return None
        if not lane.lock.acquire(blocking=False):
            return None  # a round of this lane is still running
        try:
            return self._cycle(runtime, lane)
        except Exception:  # noqa: BLE001 - one cluster's bug must not stop the others
            self.metrics.round_errors.labels(name, service).inc()
            log.exception("probe.round_crashed", cluster=name, service=service)
            return None
        finally:
            lane.last_round_ended = time.monotonic()
            lane.lock.release()

    def _cycle(self, runtime: _ClusterRuntime, lane: _Lane) -> ClusterStatus:
        name, service = runtime.config.name, lane.service
        t0 = lane.last_round_started = time.monotonic()
        rnd = runtime.prober.round(service)
        observation = evaluate(rnd, self.config.thresholds)
        with runtime.health_lock:
            status = self._take(runtime, service, rnd, observation, t0)
        if self._running:
            self._publisher.ask()
        else:
            self.publish()  # a round run by hand (the one-shot paths, tests): at once
        if runtime.health.pending_for((service,)) and self._running:
            self._confirm_soon(name, service)
        return status

    def _take(
        self,
        runtime: _ClusterRuntime,
        service: str,
        rnd: ProbeRound,
        observation: ClusterObservation,
        t0: float,
    ) -> ClusterStatus:
        """Health, logs and sinks take one lane's round (under the cluster's health lock)."""
        name = runtime.config.name
        events = runtime.health.update(observation, (service,))
        status = runtime.status = runtime.health.status()
        self._instrument(name, service, observation, rnd.results, time.monotonic() - t0)
        log_changes(name, runtime.failures.update(rnd.results))
        for event in events:
            log.info(
                "health.changed",
                cluster=name,
                kind=event.kind,
                subject=event.subject,
                old=event.old,
                new=event.new,
                at=event.at.isoformat(),
                cause=event.cause,
            )
        now = self._clock()
        for sink in self._sinks:
            sink.on_round(status, events, now)
        return status

    def _confirm_soon(self, name: str, service: str) -> None:
        when = dt.datetime.now(dt.UTC) + dt.timedelta(
            seconds=self.config.monitor.confirm_interval_seconds
        )
        job = self._scheduler.get_job(_job_id(name, service))
        if job is not None and (job.next_run_time is None or job.next_run_time > when):
            job.modify(next_run_time=when)
            self.metrics.confirm_rounds.labels(name, service).inc()

    def _instrument(
        self, name: str, service: str, obs: ClusterObservation, results: dict, elapsed: float
    ) -> None:
        self.metrics.rounds.labels(name, service).inc()
        self.metrics.round_duration.labels(name, service).observe(elapsed)
        for probe, result in results.items():
            if result.started_at >= obs.observed_at:  # fresh in this round
                self.metrics.probe_duration.labels(name, probe).observe(result.duration_seconds)
        log.debug(
            "probe.finished",
            cluster=name,
            service=service,
            duration_s=round(elapsed, 3),
            blind=obs.blind,
            errors=len(obs.errors),
        )

    def publish(self) -> Snapshot:
        """Build and swap a new snapshot from every cluster's current status."""
        with self._publish_lock:
            now = self._clock()
            # Each cluster's status is built once, at the end of its own round: publishing
            # is then linear in clusters, not rounds x clusters.
            statuses = tuple(rt.status or rt.health.status() for rt in self._clusters.values())
            sla = self._sla_source(now) if self._sla_source else ()
            snapshot = Snapshot(
                now,
                self.started_at,
                statuses,
                sla,
                {
                    "interval_seconds": self.config.monitor.interval_seconds,
                    "scheduler_running": self._running,
                },
                store=self._store_status() if self._store_status else None,
                problems=tuple(self._problems()) if self._problems else (),
                wall_offset_seconds=(
                    self._clock.offset_seconds if isinstance(self._clock, MonotonicClock) else 0.0
                ),
            )
            self.box.swap(snapshot)
            return snapshot

    # -- reload --------------------------------------------------------------------------
    def reload(self, new: Config) -> None:
        """Swap in an already validated config; keep each unchanged cluster's health."""
        old = self.config
        self.config = new
        keep = {c.name for c in new.clusters if c in old.clusters}
        undecided: dict[str, dt.datetime | None] = {}
        for name in list(self._clusters):
            if name not in keep:
                undecided[name] = self._clusters[name].health.status().undecided_since
                for service in self._clusters[name].lanes:
                    if self._scheduler.get_job(_job_id(name, service)):
                        self._scheduler.remove_job(_job_id(name, service))
                del self._clusters[name]
        for cluster in new.clusters:
            if cluster.name not in self._clusters:
                runtime = self._clusters[cluster.name] = self._runtime(
                    cluster, undecided.get(cluster.name)
                )
                if self._scheduler.running:
                    for service in runtime.lanes:
                        self._schedule(cluster.name, service, first_run=dt.datetime.now(dt.UTC))
            elif new.monitor != old.monitor:
                runtime = self._clusters[cluster.name]
                runtime.prober.settings = new.monitor  # timeouts, from the next round on
                runtime.health.retune(new.monitor)  # thresholds, keeping the state
                if self._scheduler.running:
                    for service in runtime.lanes:
                        first = self._next_run(cluster.name, service)
                        self._schedule(cluster.name, service, first_run=first)
        self.publish()
        log.info("config.reloaded", clusters=sorted(self._clusters))


def _job_id(name: str, service: str) -> str:
    return f"probe:{name}:{service}"
