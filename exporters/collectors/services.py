"""Per service (HA view): answering, redundancy, the serving controller, failovers, probe
errors and when the cluster was last probed.

Reads ``ClusterStatus.services``, e.g. ``ServiceStatus(service="slurmctld", state=UP,
active=ActiveInstance("ctl2", "backup"), redundancy_ok=False, ...)``. A value the monitor
cannot know (it is blind, or a standby slurmdbd cannot be verified) is left out rather than
reported as 0, so blindness never pages as an outage.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from exporters.collectors.base import SnapshotCollector


class ServiceCollector(SnapshotCollector):
    def collect(self) -> Iterator[Metric]:
        snap = self._source()
        up = GaugeMetricFamily(
            "slurm_service_up",
            "1 if the service answers through any instance (HA), after hysteresis; absent "
            "while the monitor cannot see (cached from the last probe).",
            labels=["cluster", "service"],
        )
        redundancy = GaugeMetricFamily(
            "slurm_service_redundancy_ok",
            "1 if every configured instance answers; absent when an instance cannot be "
            "verified (cached from the last probe).",
            labels=["cluster", "service"],
        )
        active = GaugeMetricFamily(
            "slurm_controller_active",
            "1 for the slurmctld serving requests, 0 for the others (cached from the last probe).",
            labels=["cluster", "host", "role"],
        )
        failovers = CounterMetricFamily(
            "slurm_controller_failovers",
            "Changes of the serving slurmctld seen since the monitor started.",
            labels=["cluster"],
        )
        errors = CounterMetricFamily(
            "slurm_probe_errors",
            "Probes that could not see, by probe and reason (timeout, auth, missing_binary, "
            "parse, command_failed, unreachable, standby, database).",
            labels=["cluster", "probe", "reason"],
        )
        # The same failures under the monitor's self-metrics name: one count (the cluster
        # health's, which counts a slow probe's failure once however many rounds carry it),
        # two names, so they cannot diverge.
        failures = CounterMetricFamily(
            "slurm_sla_monitor_probe_failures",
            "Probe commands that failed, by reason: the same counts as slurm_probe_errors_total.",
            labels=["cluster", "probe", "reason"],
        )
        last = GaugeMetricFamily(
            "slurm_sla_last_probe_timestamp_seconds",
            "When this cluster's values were last refreshed by a probe round.",
            labels=["cluster"],
        )
        for cluster in snap.clusters:
            for name, svc in sorted(cluster.services.items()):
                if svc.up is not None:
                    up.add_metric([cluster.name, name], 1.0 if svc.up else 0.0)
                if svc.redundancy_ok is not None:
                    redundancy.add_metric([cluster.name, name], float(svc.redundancy_ok))
            serving = cluster.services.get("slurmctld")
            for d in cluster.daemons:
                if d.daemon != "slurmctld":
                    continue
                is_active = bool(
                    serving and serving.active and serving.active.hostname == d.hostname
                )
                active.add_metric([cluster.name, d.hostname, d.role], float(is_active))
            failovers.add_metric([cluster.name], float(cluster.failovers_total))
            for (probe, reason), count in sorted(cluster.probe_errors_total.items()):
                errors.add_metric([cluster.name, probe, reason], float(count))
                failures.add_metric([cluster.name, probe, reason], float(count))
            if cluster.last_probe_at is not None:
                last.add_metric([cluster.name], snap.wall_timestamp(cluster.last_probe_at))
        yield from (up, redundancy, active, failovers, errors, failures, last)
        # Rendered when the snapshot changes, at most once a render period: at fleet size the
        # exposition can be seconds behind the snapshot, and this says by how much.
        yield GaugeMetricFamily(
            "slurm_sla_monitor_snapshot_timestamp_seconds",
            "When the snapshot these values come from was taken.",
            value=snap.wall_timestamp(snap.generated_at),
        )
