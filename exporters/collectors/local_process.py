"""Slurm daemons running on the monitor's own host, as the psutil check saw them
(``ClusterStatus.local_processes``, e.g. ``LocalProcess("slurmdbd", running=True,
pid=812, rss_bytes=31_000_000, ...)``), and restarts seen."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from exporters.collectors.base import SnapshotCollector

LABELS = ["cluster", "daemon"]


class LocalProcessCollector(SnapshotCollector):
    def collect(self) -> Iterator[Metric]:
        snap = self._source()
        running = GaugeMetricFamily(
            "slurm_local_process_running",
            "1 if the daemon's process runs on this host.",
            labels=LABELS,
        )
        rss = GaugeMetricFamily(
            "slurm_local_process_resident_memory_bytes",
            "Resident memory of the daemon's process.",
            labels=LABELS,
        )
        cpu = CounterMetricFamily(
            "slurm_local_process_cpu_seconds",
            "CPU time (user + system) of the daemon's process.",
            labels=LABELS,
        )
        threads = GaugeMetricFamily(
            "slurm_local_process_threads", "Threads of the daemon's process.", labels=LABELS
        )
        fds = GaugeMetricFamily(
            "slurm_local_process_open_fds",
            "Open file descriptors of the daemon's process.",
            labels=LABELS,
        )
        start = GaugeMetricFamily(
            "slurm_local_process_start_time_seconds",
            "Start time of the daemon's process (a change is a restart).",
            labels=LABELS,
        )
        restarts = CounterMetricFamily(
            "slurm_local_process_restarts",
            "Restarts of the daemon's process seen since the monitor started.",
            labels=LABELS,
        )
        for cluster in snap.clusters:
            for p in cluster.local_processes:
                labels = [cluster.name, p.daemon]
                running.add_metric(labels, float(p.running))
                for family, value in (
                    (rss, p.rss_bytes),
                    (cpu, p.cpu_seconds),
                    (threads, p.threads),
                    (fds, p.open_files),
                    (start, p.start_time),
                ):
                    if p.running and value is not None:
                        family.add_metric(labels, float(value))
                restarts.add_metric(labels, float(cluster.restarts_total.get(p.daemon, 0)))
        yield from (running, rss, cpu, threads, fds, start, restarts)
