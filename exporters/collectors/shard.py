"""Which shard of a fleet this daemon watches (``[monitor] shard``), so a fleet's
dashboards can check that the shards add up to the inventory:
``slurm_sla_monitor_shard_info{shard="2",shards="5"} 1``, the clusters it owns and the
fleet's.
Nothing without a shard: its exposition stays as it was."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily, Metric

from monitor.config import Config

ConfigSource = Callable[[], Config]  # the live config, so a reload applies


class ShardCollector:
    def __init__(self, source: ConfigSource) -> None:
        self._source = source

    def collect(self) -> Iterator[Metric]:
        config = self._source()
        shard = config.monitor.shard
        if shard is None:
            return
        info = GaugeMetricFamily(
            "slurm_sla_monitor_shard_info",
            "1, labelled with this daemon's shard of the fleet ([monitor] shard).",
            labels=["shard", "shards"],
        )
        info.add_metric([str(shard.index), str(shard.count)], 1.0)
        yield info
        owned = GaugeMetricFamily(
            "slurm_sla_monitor_shard_clusters",
            "Clusters this daemon's shard owns (watches).",
            labels=["shard"],
        )
        owned.add_metric([str(shard.index)], float(len(config.clusters)))
        yield owned
        fleet = GaugeMetricFamily(
            "slurm_sla_monitor_fleet_clusters",
            "Clusters in the configuration file, every shard's (the fleet's inventory).",
        )
        fleet.add_metric([], float(config.fleet_size))
        yield fleet
