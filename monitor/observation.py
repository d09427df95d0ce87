"""What one probe round concluded about one cluster, before hysteresis.

These are plain immutable values: the verdict builds them, the health state machine reads
them, and ``slurm-sla probe --json`` prints them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from monitor.reasons import BLIND_REASONS, Reason

__all__ = [
    "BLIND_REASONS",
    "ActiveInstance",
    "ClusterObservation",
    "Condition",
    "DaemonObservation",
    "LocalProcess",
    "ProbeError",
    "Reason",
    "ServiceObservation",
    "State",
]


class State(StrEnum):
    UP = "up"
    DEGRADED = "degraded"
    DOWN = "down"
    UNKNOWN = "unknown"


class Condition(StrEnum):
    """How a service is doing, in words an on-call engineer reads in an alert."""

    OK = "ok"
    FAILOVER = "failover"  # a backup is serving
    SPLIT_BRAIN_PROTECTION = "split_brain_protection"  # primary unreachable, backup standby
    NO_CONTROLLER = "no_controller"  # no slurmctld answers
    DBD_UNREACHABLE = "dbd_unreachable"  # no slurmdbd answers
    DATABASE_UNREACHABLE = "database_unreachable"  # slurmdbd answers, its database does not
    BLIND = "blind"  # the monitor cannot see
    UNKNOWN = "unknown"  # not observed yet


@dataclass(frozen=True)
class DaemonObservation:
    daemon: str  # slurmctld | slurmdbd
    hostname: str
    role: str  # primary, backup, backup1, ... as Slurm names them
    state: State
    reason: Reason | None = None
    latency_seconds: float | None = None

    @property
    def answered(self) -> bool:
        return self.state in (State.UP, State.DEGRADED)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.daemon, self.hostname, self.role)


@dataclass(frozen=True)
class ActiveInstance:
    hostname: str
    role: str


@dataclass(frozen=True)
class ServiceObservation:
    service: str
    state: State
    condition: Condition
    up: bool | None  # None: the monitor cannot tell
    redundancy_ok: bool | None  # None: an instance cannot be verified (standby slurmdbd)
    active: ActiveInstance | None = None
    reason: Reason | None = None
    # How long the deciding probe waited for its answer: a ping that waited 20 s for two
    # silent controllers saw 20 s of silence, not one instant of it.
    evidence_seconds: float = 0.0
    active_source: str | None = None  # what said which instance serves: readyz | ping | ...


@dataclass(frozen=True)
class LocalProcess:
    """What the local process check saw of a daemon on the monitor's own host."""

    daemon: str
    running: bool
    pid: int | None = None
    start_time: float | None = None  # epoch seconds; a new value means a restart
    rss_bytes: int | None = None
    cpu_seconds: float | None = None
    threads: int | None = None
    open_files: int | None = None


@dataclass(frozen=True)
class ProbeError:
    probe: str
    reason: Reason
    message: str
    at: dt.datetime | None = None  # when the failed probe started: tells a new error from a
    # slow probe's old one carried into a later round


@dataclass(frozen=True)
class ClusterObservation:
    cluster: str
    observed_at: dt.datetime
    daemons: tuple[DaemonObservation, ...]
    services: Mapping[str, ServiceObservation]
    statistics: Mapping[str, Any] | None = None  # sdiag, as `slurm-sla parse sdiag` prints it
    blind: bool = False
    errors: tuple[ProbeError, ...] = ()
    boot_time: str | None = None  # BOOT_TIME of the serving controller; changes on takeover
    slurm_version: str | None = None
    registered_controller: str | None = None  # ControlHost in slurmdbd (may lag)
    local_processes: tuple[LocalProcess, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        services = {}
        for name, svc in self.services.items():
            services[name] = {
                "up": svc.up,
                "state": svc.state.value,
                "condition": svc.condition.value,
                "redundancy_ok": svc.redundancy_ok,
                "active": None
                if svc.active is None
                else {"hostname": svc.active.hostname, "role": svc.active.role},
                "reason": svc.reason.value if svc.reason else None,
                "active_source": svc.active_source if svc.active is not None else None,
            }
        return {
            "name": self.cluster,
            "observed_at": self.observed_at.isoformat().replace("+00:00", "Z"),
            "daemons": [
                {
                    "daemon": d.daemon,
                    "hostname": d.hostname,
                    "role": d.role,
                    "state": d.state.value,
                    "reason": d.reason.value if d.reason else None,
                    "latency_seconds": d.latency_seconds,
                }
                for d in self.daemons
            ],
            "services": services,
            "statistics": dict(self.statistics) if self.statistics is not None else None,
            "blind": self.blind,
            "errors": [
                {"probe": e.probe, "reason": e.reason, "message": e.message} for e in self.errors
            ],
            "boot_time": self.boot_time,
            "slurm_version": self.slurm_version,
            "registered_controller": self.registered_controller,
        }
