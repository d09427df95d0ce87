"""Health of one cluster over time: hysteresis on every daemon and service, failovers,
local daemon restarts, and the counters the exporters need.

It takes :class:`ClusterObservation` values (one per probe round), returns the events that
were confirmed by each, and renders an immutable :class:`ClusterStatus`. No I/O, no clock:
times come from the observations.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from monitor.config import MonitorSettings
from monitor.hysteresis import Hysteresis
from monitor.observation import (
    ActiveInstance,
    ClusterObservation,
    Condition,
    DaemonObservation,
    LocalProcess,
    Reason,
    ServiceObservation,
    State,
)
from monitor.snapshot import ClusterStatus, DaemonStatus, Histogram, ServiceStatus
from monitor.takeover import TakeoverGrace

DaemonKey = tuple[str, str, str]  # (daemon, hostname, role)
_ANSWERING = (State.UP, State.DEGRADED)


@dataclass(frozen=True)
class HealthEvent:
    """A confirmed change. ``kind``: daemon, service, failover or restart."""

    cluster: str
    kind: str
    subject: str  # "slurmctld@ctl1(primary)" or the service name
    old: str
    new: str
    at: dt.datetime  # backdated to the first probe that showed it
    confirmed_at: dt.datetime
    cause: str
    service: str = ""
    daemon: str = ""
    host: str = ""
    role: str = ""


class ClusterHealth:
    def __init__(self, cluster: str, settings: MonitorSettings, started_at: dt.datetime) -> None:
        self.cluster = cluster
        self._settings = settings
        self._started_at = started_at
        self._daemons: dict[DaemonKey, Hysteresis[State]] = {}
        self._daemon_last: dict[DaemonKey, DaemonObservation] = {}
        self._histograms: dict[DaemonKey, Histogram] = {}
        self._services: dict[str, Hysteresis[State]] = {}
        self._service_cause: dict[str, str] = {}
        self._service_last: dict[str, ServiceObservation] = {}  # as its own lane last saw it
        self._local: dict[str, LocalProcess] = {}
        self._active: dict[str, Hysteresis[ActiveInstance | None]] = {}
        self._last_serving: dict[str, ActiveInstance] = {}
        self._errors: dict[tuple[str, str], int] = {}
        self._counted: dict[str, dt.datetime | None] = {}
        self._start_times: dict[str, float] = {}
        self._restarts: dict[str, int] = {}
        self._failovers = 0
        self._grace = TakeoverGrace(settings)
        self._primary_served_at: dt.datetime | None = None  # slurmctld's last OK round
        self._last: ClusterObservation | None = None

    def retune(self, settings: MonitorSettings) -> None:
        """New thresholds (a reload); confirmed states and pending changes stay."""
        self._settings = settings
        self._grace.settings = settings

    # -- thresholds ----------------------------------------------------------------------
    def _threshold(self, old: object, new: object) -> int:
        better = new in (State.UP,) or (new == State.DEGRADED and old == State.DOWN)
        return self._settings.recovery_threshold if better else self._settings.failure_threshold

    def _active_threshold(self, old: object, new: object) -> int:
        return self._settings.failure_threshold

    @property
    def pending(self) -> bool:
        """Some change is seen but not confirmed: re-probe soon (fast confirmation)."""
        return self.pending_for(None)

    def pending_for(self, services: Collection[str] | None) -> bool:
        """A change of one of ``services`` (all if None) waits for confirmation."""
        trackers = [
            *(t for k, t in self._daemons.items() if services is None or k[0] in services),
            *(t for k, t in self._services.items() if services is None or k in services),
            *(t for k, t in self._active.items() if services is None or k in services),
        ]
        return any(t.pending for t in trackers)

    # -- update --------------------------------------------------------------------------
    def update(
        self, obs: ClusterObservation, services: Collection[str] | None = None
    ) -> list[HealthEvent]:
        """Take one round's observation. ``services``: the ones this round decides (its
        lane's); the others' parts of ``obs`` are older evidence, already taken."""

        def decides(service: str) -> bool:
            return services is None or service in services

        at = obs.observed_at
        events: list[HealthEvent] = []
        seen = set()
        for d in obs.daemons:
            if not decides(d.daemon):
                continue
            seen.add(d.key)
            self._daemon_last[d.key] = d
            if d.latency_seconds is not None:
                self._histograms[d.key] = self._histograms.get(d.key, Histogram()).observe(
                    d.latency_seconds
                )
            events += self._observe_daemon(d.key, d.state, d.reason, at)
        for key in list(self._daemons):
            if key not in seen and decides(key[0]):  # not listed: its state is not known
                events += self._observe_daemon(key, State.UNKNOWN, None, at)
        for name, svc in obs.services.items():
            if not decides(name):
                continue
            self._service_last[name] = svc
            active = self._active.get("slurmctld")
            svc = self._grace.through(svc, at, active.value if active else None)
            tracker = self._services.setdefault(
                name, Hysteresis(State.UNKNOWN, self._started_at, self._threshold)
            )
            began, held = self._grace.silence(svc)
            began = self._split_brain_began(svc, obs, at, began)
            change = tracker.observe(svc.state, at, svc.condition.value, began=began, held=held)
            blind = svc.condition is Condition.BLIND
            if name == "slurmctld" and blind and tracker.value is State.UNKNOWN:
                # Only after the tracker has taken this round: one blind round the threshold
                # has not confirmed leaves the held silence as it is.
                self._grace.blind_confirmed()
            if change:
                self._service_cause[name] = change.cause
                events.append(
                    HealthEvent(
                        self.cluster,
                        "service",
                        name,
                        change.old.value,
                        change.new.value,
                        change.at,
                        change.confirmed_at,
                        change.cause,
                        service=name,
                    )
                )
            events += self._observe_active(name, svc.active, at)
        self._count_errors(obs)
        events += self._restarts_seen(obs, at)
        self._local.update((p.daemon, p) for p in obs.local_processes)
        self._last = obs
        return events

    def _observe_daemon(
        self, key: DaemonKey, state: State, reason: Reason | None, at: dt.datetime
    ) -> list[HealthEvent]:
        tracker = self._daemons.setdefault(
            key, Hysteresis(State.UNKNOWN, self._started_at, self._threshold)
        )
        immediate = reason is Reason.PROCESS_GONE
        change = tracker.observe(state, at, reason.value if reason else state.value, immediate)
        if not change:
            return []
        daemon, host, role = key
        return [
            HealthEvent(
                self.cluster,
                "daemon",
                f"{daemon}@{host}({role})",
                change.old.value,
                change.new.value,
                change.at,
                change.confirmed_at,
                change.cause,
                service=daemon,
                daemon=daemon,
                host=host,
                role=role,
            )
        ]

    def _observe_active(
        self, service: str, active: ActiveInstance | None, at: dt.datetime
    ) -> list[HealthEvent]:
        tracker = self._active.setdefault(
            service, Hysteresis(None, self._started_at, self._active_threshold)
        )
        change = tracker.observe(active, at, "serving instance changed")
        if not change or change.new is None:
            return []
        previous = self._last_serving.get(service)
        self._last_serving[service] = change.new
        if previous is None or previous == change.new:
            return []  # first sight, or the same one back after a full outage: no failover
        if service == "slurmctld":
            self._failovers += 1
        return [
            HealthEvent(
                self.cluster,
                "failover",
                service,
                f"{previous.hostname}({previous.role})",
                f"{change.new.hostname}({change.new.role})",
                change.at,
                change.confirmed_at,
                "failback" if change.new.role == "primary" else "failover",
                service=service,
                host=change.new.hostname,
                role=change.new.role,
            )
        ]

    def _count_errors(self, obs: ClusterObservation) -> None:
        for error in obs.errors:
            if self._counted.get(error.probe) == error.at and error.at is not None:
                continue  # a slow probe's result carried over: already counted
            self._counted[error.probe] = error.at
            key = (error.probe, error.reason)
            self._errors[key] = self._errors.get(key, 0) + 1

    def _restarts_seen(self, obs: ClusterObservation, at: dt.datetime) -> list[HealthEvent]:
        events = []
        for proc in obs.local_processes:
            if not proc.running or proc.start_time is None:
                continue
            before = self._start_times.get(proc.daemon)
            self._start_times[proc.daemon] = proc.start_time
            if before is not None and proc.start_time != before:
                self._restarts[proc.daemon] = self._restarts.get(proc.daemon, 0) + 1
                started = dt.datetime.fromtimestamp(proc.start_time, dt.UTC)
                events.append(
                    HealthEvent(
                        self.cluster,
                        "restart",
                        proc.daemon,
                        str(before),
                        str(proc.start_time),
                        started,
                        at,
                        f"new process {proc.pid}",
                        service=proc.daemon,
                        daemon=proc.daemon,
                    )
                )
        return events

    # -- status --------------------------------------------------------------------------
    def status(self) -> ClusterStatus:
        daemons = []
        for key, tracker in sorted(self._daemons.items()):
            last = self._daemon_last.get(key)
            daemon, host, role = key
            daemons.append(
                DaemonStatus(
                    daemon,
                    host,
                    role,
                    tracker.value,
                    tracker.since,
                    last.reason if last else None,
                    None if last is None or last.state is State.UNKNOWN else last.answered,
                    last.latency_seconds if last else None,
                    self._histograms.get(key, Histogram()),
                )
            )
        services = {}
        obs = self._last
        for name, tracker in self._services.items():
            raw = self._service_last.get(name)
            active = self._active[name].value if name in self._active else None
            services[name] = ServiceStatus(
                name,
                tracker.value,
                tracker.since,
                self._service_cause.get(name, "monitor started"),
                raw.redundancy_ok if raw else None,
                active,
                raw.condition if raw else Condition.UNKNOWN,
            )
        return ClusterStatus(
            name=self.cluster,
            last_probe_at=obs.observed_at if obs else None,
            observation=obs,
            daemons=tuple(daemons),
            services=services,
            probe_errors_total=dict(self._errors),
            failovers_total=self._failovers,
            restarts_total=dict(self._restarts),
            local_processes=tuple(self._local[d] for d in sorted(self._local)),
            undecided_since=self._undecided_since(),
        )

    def _split_brain_began(
        self,
        svc: ServiceObservation,
        obs: ClusterObservation,
        at: dt.datetime,
        began: dt.datetime | None,
    ) -> dt.datetime | None:
        """Where slurmctld's split-brain protection began (see ``_standby_since``), not
        before the primary last served: a standby answer left over from an earlier
        incident (no RPC has come back since) is no evidence. Other rounds: ``began``."""
        if svc.service != "slurmctld":
            return began
        if svc.condition is Condition.OK:
            self._primary_served_at = at
        if svc.condition is not Condition.SPLIT_BRAIN_PROTECTION:
            return began
        began = _standby_since(obs, began)
        if began is not None and self._primary_served_at is not None:
            began = max(began, self._primary_served_at)
        return began

    def _undecided_since(self) -> dt.datetime | None:
        """Where a service's recorded past may still change (see ClusterStatus)."""
        if self._last is None:
            # No round yet: nothing is known from the start. A health replaced by a reload
            # starts at what its predecessor had not decided; replaced again before its
            # first round, it must hand that on, not "nothing undecided" (two reloads in
            # one interval left a held silence recorded as up).
            return self._started_at
        undecided = [t.pending_since for t in self._services.values() if t.pending_since]
        ctl = self._services.get("slurmctld")
        held = self._grace.held_since
        if held is not None and ctl is not None and ctl.value in _ANSWERING:
            undecided.append(held)  # held by the takeover grace
        return min(undecided, default=None)


def _standby_since(obs: ClusterObservation, began: dt.datetime | None) -> dt.datetime | None:
    """Where split-brain protection began at the latest: the start of the controller RPC
    that the standby backup refused. Slurm's clients retry a standby backup for 1.5 x
    SlurmctldTimeout, so that answer comes ~12 s after the RPC set out, and rounds in
    between read the answer before it (from the primary, before it was cut off) as a
    failover; dated by the round that read the standby, the outage lost those seconds."""
    starts = [e.at for e in obs.errors if e.reason is Reason.STANDBY and e.at is not None]
    return min([*starts, *([began] if began else [])], default=None)
