"""How fresh each HA peer's live view is, and which Down-class alerts the peer-view gate
withholds now (monitor.ha.gate), HA mode only:

    slurm_sla_monitor_peer_view_age_seconds{peer="http://mon-b:9817"} 1.2
    slurm_sla_monitor_peer_view_failures_total{peer="http://mon-b:9817"} 0
    slurm_sla_monitor_alert_withheld{cluster="prod",alertname="SlurmctldDown"} 1

A peer view older than the gate's limit contradicts nothing: alert on the age (a replica
whose peer is silent pages alone) rather than wait for the gate to matter."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from monitor.ha.peer_gate import PeerGate
from monitor.ha.peer_views import PeerViews


class PeerViewCollector:
    def __init__(self, views: PeerViews, gate: PeerGate) -> None:
        self._views, self._gate = views, gate

    def collect(self) -> Iterator[Metric]:
        age = GaugeMetricFamily(
            "slurm_sla_monitor_peer_view_age_seconds",
            "Seconds since the last view received from each HA peer was asked for "
            "(a peer never heard from has no sample).",
            labels=["peer"],
        )
        for peer, seconds in sorted(self._views.ages().items()):
            age.add_metric([peer], seconds)
        yield age
        failures = CounterMetricFamily(
            "slurm_sla_monitor_peer_view_failures",
            "Requests for an HA peer's view that failed (unreachable, refused, not a view).",
            labels=["peer"],
        )
        for peer, n in sorted(self._views.failures().items()):
            failures.add_metric([peer], float(n))
        yield failures
        withheld = GaugeMetricFamily(
            "slurm_sla_monitor_alert_withheld",
            "1 for each Down-class alert this replica withholds now because a peer with a "
            "fresh view sees the service up (as of the cluster's last round).",
            labels=["cluster", "alertname"],
        )
        for cluster, alertname in sorted(self._gate.withheld_now()):
            withheld.add_metric([cluster, alertname], 1.0)
        yield withheld
