"""The custom collectors render the contract's metrics from a snapshot, and only from it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

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
from tests.support.golden import assert_golden

GOLDEN = Path(__file__).parent / "golden" / "exposition.prom"
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


def test_exposition_matches_golden():
    assert_golden(GOLDEN, render(failover_snapshot()))


def test_contract_values():
    text = render(failover_snapshot())
    lines = set(text.splitlines())
    assert 'slurm_daemon_up{cluster="prod",daemon="slurmctld",host="ctl1",role="primary"} 0.0' \
        in lines
    assert 'slurm_daemon_state{cluster="prod",daemon="slurmctld",host="ctl1",role="primary",' \
           'state="down"} 1.0' in lines
    assert 'slurm_controller_active{cluster="prod",host="ctl2",role="backup"} 1.0' in lines
    assert 'slurm_controller_active{cluster="prod",host="ctl1",role="primary"} 0.0' in lines
    assert 'slurm_controller_failovers_total{cluster="prod"} 1.0' in lines
    assert 'slurm_service_up{cluster="prod",service="slurmctld"} 1.0' in lines
    assert 'slurm_service_redundancy_ok{cluster="prod",service="slurmctld"} 0.0' in lines
    # the standby slurmdbd cannot be verified: no sample rather than a false 0
    assert 'slurm_daemon_up{cluster="prod",daemon="slurmdbd",host="dbd2"' not in text
    assert 'slurm_service_redundancy_ok{cluster="prod",service="slurmdbd"}' not in text
    assert 'slurm_scheduler_dbd_agent_queue_size{cluster="prod"} 12.0' in lines
    assert 'slurm_scheduler_cycle_last_seconds{cluster="prod"} 7.2e-05' in lines
    # sdiag printed no mean cycle: absent, never 0
    assert "slurm_scheduler_cycle_mean_seconds{" not in text
    assert 'slurm_probe_errors_total{cluster="prod",probe="sdiag",reason="timeout"} 1.0' in lines
    assert 'slurm_sla_objective_ratio{cluster="prod",service="slurmctld"} 0.999' in lines
    assert 'slurm_sla_downtime_seconds_total{cluster="prod",service="slurmctld"} 1296.0' in lines
    assert 'slurm_scheduler_rpc_calls_total{cluster="prod",message_type="REQUEST_PING"} 9.0' \
        in lines
    assert 'slurm_local_process_threads{cluster="prod",daemon="slurmdbd"} 9.0' in lines


def test_vanished_labels_vanish():
    snap = failover_snapshot()
    assert "ctl1" in render(snap)
    empty = Snapshot(T0, T0)
    assert "ctl1" not in render(empty)


def test_healthz_rules():
    from monitor.service import snapshot_health

    snap = failover_snapshot()
    fresh = Snapshot(T0, T0, snap.clusters, extras={"interval_seconds": 10,
                                                    "scheduler_running": True})
    last = snap.clusters[0].last_probe_at
    assert snapshot_health(fresh, last + dt.timedelta(seconds=20), 20).ok
    stale = snapshot_health(fresh, last + dt.timedelta(seconds=40), 20)
    assert not stale.ok and "no probe round for more than 35 s: prod" in stale.detail["problems"]
    stopped = Snapshot(T0, T0, snap.clusters, extras={"interval_seconds": 10,
                                                      "scheduler_running": False})
    assert "scheduler not running" in snapshot_health(stopped, last, 20).detail["problems"]
    failing = Snapshot(T0, T0, snap.clusters,
                       extras={"interval_seconds": 10, "scheduler_running": True},
                       problems=("state store: the disk is full",))
    assert not snapshot_health(failing, last, 20).ok
