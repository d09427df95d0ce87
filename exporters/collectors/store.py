"""The durable state store's health (``Snapshot.store``, e.g. ``StoreStatus(healthy=False,
pending_events=3, last_error="the disk is full (...)")``): a failing disk must show on a
dashboard and page, never lose transitions silently."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from exporters.collectors.base import SnapshotCollector


class StoreCollector(SnapshotCollector):
    def collect(self) -> Iterator[Metric]:
        store = self._source().store
        if store is None:
            return
        yield GaugeMetricFamily(
            "slurm_sla_store_healthy",
            "1 if the state store is open and every confirmed transition is written.",
            value=float(store.healthy),
        )
        yield GaugeMetricFamily(
            "slurm_sla_store_pending_events",
            "Confirmed transitions waiting in memory for the store.",
            value=float(store.pending_events),
        )
        yield CounterMetricFamily(
            "slurm_sla_store_lost_events",
            "Transitions dropped because the store stayed unwritable "
            "longer than the in-memory queue holds.",
            value=float(store.lost_events),
        )
