"""Which replica of an HA pair this monitor is (``[ha] replica``), so Prometheus rules
and dashboards can take ``max``/``min`` across replicas:
``slurm_sla_monitor_replica_info{replica="a"} 1``.
Nothing in single-replica mode (no ``[ha]``): its exposition stays as it was."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily, Metric

from monitor.ha.settings import HaSettings

HaSource = Callable[[], HaSettings | None]  # the live config's [ha], so a reload applies


class ReplicaCollector:
    def __init__(self, source: HaSource) -> None:
        self._source = source

    def collect(self) -> Iterator[Metric]:
        ha = self._source()
        if ha is None:
            return
        info = GaugeMetricFamily(
            "slurm_sla_monitor_replica_info",
            "1, labelled with this monitor's replica name from [ha] (HA mode only).",
            labels=["replica"],
        )
        info.add_metric([ha.replica], 1.0)
        yield info
