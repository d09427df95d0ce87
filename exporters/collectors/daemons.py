"""Per daemon instance: answered, state after hysteresis, probe latency.

Reads ``ClusterStatus.daemons`` of the last snapshot, e.g.
``DaemonStatus(daemon="slurmctld", hostname="ctl1", role="primary", state=UP, ...)``.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric

from exporters.collectors.base import SnapshotCollector
from monitor.observation import State

LABELS = ["cluster", "daemon", "host", "role"]


class DaemonCollector(SnapshotCollector):
    def collect(self) -> Iterator[Metric]:
        snap = self._source()
        up = GaugeMetricFamily(
            "slurm_daemon_up",
            "1 if the last probe of this daemon instance answered (cached from the last probe).",
            labels=LABELS,
        )
        state = GaugeMetricFamily(
            "slurm_daemon_state",
            "1 for the instance's current state after hysteresis: up, degraded, down or "
            "unknown (unknown: the monitor cannot see; cached from the last probe).",
            labels=[*LABELS, "state"],
        )
        since = GaugeMetricFamily(
            "slurm_daemon_state_since_timestamp_seconds",
            "When the current state began (backdated to the first probe that showed it).",
            labels=LABELS,
        )
        latency = HistogramMetricFamily(
            "slurm_daemon_probe_duration_seconds",
            "Latency of the probe that reached this instance.",
            labels=LABELS,
        )
        for cluster in snap.clusters:
            for d in cluster.daemons:
                labels = [cluster.name, d.daemon, d.hostname, d.role]
                if d.answered is not None:  # unknown: absent, never a false 0
                    up.add_metric(labels, 1.0 if d.answered else 0.0)
                for s in State:
                    state.add_metric([*labels, s.value], 1.0 if d.state is s else 0.0)
                since.add_metric(labels, snap.wall_timestamp(d.since))
                latency.add_metric(labels, d.latency.cumulative(), d.latency.total)
        yield from (up, state, since, latency)
