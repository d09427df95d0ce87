"""The custom collectors render the contract's metrics from a snapshot, and only from it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from monitor.snapshot import Snapshot
from tests.support.golden import assert_golden
from tests.support.snapshots import T0, failover_snapshot, render

GOLDEN = Path(__file__).parent / "golden" / "exposition.prom"


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
