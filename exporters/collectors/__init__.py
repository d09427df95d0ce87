"""Custom collectors, one per concern, each building fresh metric families from the last
snapshot on every scrape (so vanished label sets vanish, and scrapes never race a probe)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client.registry import Collector, CollectorRegistry

from exporters.collectors.daemons import DaemonCollector
from exporters.collectors.local_process import LocalProcessCollector
from exporters.collectors.scheduler import SchedulerCollector
from exporters.collectors.services import ServiceCollector
from exporters.collectors.sla import SlaCollector
from exporters.collectors.store import StoreCollector
from monitor.snapshot import Snapshot

SnapshotSource = Callable[[], Snapshot]

COLLECTORS: tuple[type, ...] = (
    DaemonCollector,
    ServiceCollector,
    SchedulerCollector,
    SlaCollector,
    LocalProcessCollector,
    StoreCollector,
)


def register_all(registry: CollectorRegistry, source: SnapshotSource) -> list[Collector]:
    collectors = [cls(source) for cls in COLLECTORS]
    for collector in collectors:
        registry.register(collector)
    return collectors
