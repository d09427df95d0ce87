"""A snapshot with something in every family (primary controller down and the backup
serving, an unverifiable backup slurmdbd, sdiag statistics, a probe error, a local process,
SLA figures) and its exposition through the custom collectors."""

from __future__ import annotations

import datetime as dt

from prometheus_client import CollectorRegistry, generate_latest

from exporters.collectors import register_all
from monitor.config import MonitorSettings
from monitor.health import ClusterHealth
from monitor.observation import (
    ActiveInstance,
    ClusterObservation,
    Condition,
    DaemonObservation,
    LocalProcess,
    ProbeError,
    Reason,
    ServiceObservation,
    State,
)
from monitor.snapshot import SlaFigures, Snapshot

T0 = dt.datetime(2026, 11, 26, 10, 0, tzinfo=dt.UTC)

STATS = {
    "server_thread_count": 3, "agent_queue_size": 0, "agent_count": 0,
    "agent_thread_count": 0, "dbd_agent_queue_size": 12, "schedule_cycle_last": 72,
    "schedule_cycle_max": 1040, "schedule_cycle_total": 15, "jobs_submitted": 4,
    "jobs_running": 1, "req_time_start": 1795687200,
    "rpcs_by_message_type": [{"message_type": "REQUEST_PING", "type_id": 1008, "count": 9,
                              "average_time": 50, "total_time": 450}],
    "rpcs_by_user": [{"user": "root", "user_id": 0, "count": 9, "average_time": 50,
                      "total_time": 450}],
}


def failover_snapshot() -> Snapshot:
    """Primary down, backup serving, slurmdbd unverifiable backup, sdiag statistics."""
    health = ClusterHealth("prod", MonitorSettings(failure_threshold=1, recovery_threshold=1), T0)
    daemons = (
        DaemonObservation("slurmctld", "ctl1", "primary", State.DOWN, Reason.UNREACHABLE),
        DaemonObservation("slurmctld", "ctl2", "backup", State.UP, None, 0.012),
        DaemonObservation("slurmdbd", "dbd1", "primary", State.UP, None, 0.2),
        DaemonObservation("slurmdbd", "dbd2", "backup", State.UNKNOWN, Reason.STANDBY),
    )
    services = {
        "slurmctld": ServiceObservation("slurmctld", State.UP, Condition.OK, True, True,
                                        ActiveInstance("ctl1", "primary")),
        "slurmdbd": ServiceObservation("slurmdbd", State.UP, Condition.OK, True, None,
                                       ActiveInstance("dbd1", "primary")),
    }
    first = ClusterObservation("prod", T0, tuple(
        DaemonObservation(d.daemon, d.hostname, d.role, State.UP, None, 0.01)
        if d.daemon == "slurmctld" else d for d in daemons), services)
    health.update(first)
    services = {**services, "slurmctld": ServiceObservation(
        "slurmctld", State.UP, Condition.FAILOVER, True, False, ActiveInstance("ctl2", "backup"))}
    local = (LocalProcess("slurmdbd", True, pid=42, start_time=1795680000.0, rss_bytes=1 << 24,
                          cpu_seconds=1.5, threads=9, open_files=20),)
    health.update(ClusterObservation(
        "prod", T0 + dt.timedelta(seconds=10), daemons, services, statistics=STATS,
        errors=(ProbeError("sdiag", "timeout", "slow", T0),), local_processes=local))
    sla = (SlaFigures("prod", "slurmctld", 0.999, 0.9995, 0.5, 1296.0, {"1h": 2.0, "5m": 0.0}),)
    return Snapshot(T0, T0, (health.status(),), sla)


def render(snapshot: Snapshot) -> str:
    registry = CollectorRegistry()
    register_all(registry, lambda: snapshot)
    return generate_latest(registry).decode()
