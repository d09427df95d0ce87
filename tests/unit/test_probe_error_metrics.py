"""``slurm_probe_errors_total`` and ``slurm_sla_monitor_probe_failures_total`` are one count
under two names (issue 12): both come from the cluster health's counter, which counts a slow
probe's failure once however many rounds carry it into their verdict."""

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
    ProbeError,
    ServiceObservation,
    State,
)
from monitor.selfmetrics import MonitorMetrics
from monitor.snapshot import Snapshot
from tests.support.daemon import parse_metrics

T0 = dt.datetime(2026, 11, 26, 10, 0, tzinfo=dt.UTC)
NAMES = ("slurm_probe_errors_total", "slurm_sla_monitor_probe_failures_total")


def observation(at: dt.datetime, errors: tuple[ProbeError, ...]) -> ClusterObservation:
    daemons = (DaemonObservation("slurmctld", "ctl1", "primary", State.UP),)
    svc = ServiceObservation(
        "slurmctld", State.UP, Condition.OK, True, True, ActiveInstance("ctl1", "primary")
    )
    return ClusterObservation("prod", at, daemons, {"slurmctld": svc}, errors=errors)


def scrape(health: ClusterHealth) -> dict[str, dict[tuple[str, str], float]]:
    registry = CollectorRegistry()
    MonitorMetrics(registry)  # the daemon's own metrics: must not define either name again
    snap = Snapshot(T0, T0, clusters=(health.status(),))
    register_all(registry, lambda: snap)
    text = generate_latest(registry).decode()
    for name in NAMES:
        assert text.count(f"# TYPE {name} counter") == 1, name  # declared once
    samples = parse_metrics(text)
    out: dict[str, dict[tuple[str, str], float]] = {name: {} for name in NAMES}
    for name, labels, value in samples:
        if name in out:
            out[name][(labels["probe"], labels["reason"])] = value
    return out


def test_both_names_count_the_same_failures_once():
    health = ClusterHealth("prod", MonitorSettings(), T0)
    sdiag_started = T0 + dt.timedelta(seconds=1)
    slow = ProbeError("sdiag", "timeout", "sdiag: timed out", sdiag_started)
    rounds = [
        (),
        (ProbeError("ping", "timeout", "ping: timed out", T0 + dt.timedelta(seconds=10)),),
        (slow,),  # a slow sdiag's failure, carried into the next two rounds' verdicts
        (slow,),
        (slow, ProbeError("ping", "parse", "ping: garbage", T0 + dt.timedelta(seconds=40))),
    ]
    for i, errors in enumerate(rounds):
        health.update(observation(T0 + dt.timedelta(seconds=10 * i), errors))
    got = scrape(health)
    want = {("ping", "timeout"): 1.0, ("sdiag", "timeout"): 1.0, ("ping", "parse"): 1.0}
    assert got["slurm_probe_errors_total"] == want
    assert got["slurm_sla_monitor_probe_failures_total"] == want


def test_a_cluster_without_failures_has_neither_series():
    health = ClusterHealth("prod", MonitorSettings(), T0)
    health.update(observation(T0, ()))
    assert scrape(health) == {name: {} for name in NAMES}
