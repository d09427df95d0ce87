"""What every collector shares: it reads the last snapshot through a callable."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client.core import Metric

from monitor.snapshot import Snapshot


class SnapshotCollector:
    def __init__(self, source: Callable[[], Snapshot]) -> None:
        self._source = source

    def describe(self) -> list[Metric]:
        # Families depend on the snapshot: an empty describe keeps the registry from
        # collecting at registration time.
        return []
