"""What feeds the systemd watchdog (probing alive) and what ``/healthz`` reports (that and
every other problem, the store's given live): a bad disk turns /healthz 503 but never
starves the watchdog, which would restart the daemon and lose what it holds in memory."""

from __future__ import annotations

import datetime as dt

from monitor.service import probing_health, snapshot_health
from monitor.snapshot import Snapshot
from tests.support.snapshots import T0, failover_snapshot

STORE = "state store: a write has been in progress for 12 s (a frozen or very slow disk?)"


def snapshot(running: bool = True, problems: tuple[str, ...] = ()) -> Snapshot:
    clusters = failover_snapshot().clusters
    extras = {"interval_seconds": 10, "scheduler_running": running}
    return Snapshot(T0, T0, clusters, extras=extras, problems=problems)


def test_a_store_problem_fails_healthz_but_not_the_watchdog():
    snap = snapshot(problems=(STORE,))
    last = snap.clusters[0].last_probe_at
    assert probing_health(snap, last, 20).ok
    health = snapshot_health(snap, last, 20)
    assert not health.ok and health.detail["problems"] == [STORE]


def test_live_store_problems_replace_the_snapshots():
    snap = snapshot(problems=(STORE,))  # as of the last round
    last = snap.clusters[0].last_probe_at
    assert snapshot_health(snap, last, 20, problems=[]).ok  # the store recovered since
    assert not snapshot_health(snapshot(), last, 20, problems=[STORE]).ok


def test_the_watchdog_starves_when_probing_stops():
    snap = snapshot()
    last = snap.clusters[0].last_probe_at
    assert not probing_health(snap, last + dt.timedelta(seconds=40), 20).ok
    assert not probing_health(snapshot(running=False), last, 20).ok
