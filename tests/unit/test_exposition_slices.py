"""A large family is encoded a slice of samples at a time: the bytes are exactly those of
encoding the registry whole, in the text format and in OpenMetrics."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.exposition import generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics

from exporters.exposition import SLICE_SAMPLES, render_by_family

BUCKETS = [("0.01", 1.0), ("0.1", 3.0), ("1.0", 7.0), ("+Inf", 9.0)]


class Fleet:
    """Families past one slice, one of them with ``_created`` samples (moved by the text
    format to the family's end: encoded whole), between two small ones."""

    def __init__(self, clusters: int) -> None:
        self.clusters = clusters

    def collect(self):
        yield GaugeMetricFamily("slurm_test_first", 'a "small" one\\n', value=1.5)
        latency = HistogramMetricFamily(
            "slurm_test_duration_seconds", "latency", labels=["cluster", "daemon"]
        )
        up = GaugeMetricFamily("slurm_test_up", "up", labels=["cluster"])
        calls = CounterMetricFamily("slurm_test_calls", "calls", labels=["cluster"])
        for i in range(self.clusters):
            name = f"c{i:04d}"
            for daemon in ("slurmctld", "slurmdbd"):
                latency.add_metric([name, daemon], BUCKETS, 0.25 * i)
            up.add_metric([name], float(i % 2))
            calls.add_metric([name], i, created=1700000000.0 + i)
        yield latency
        yield up
        yield calls
        yield GaugeMetricFamily("slurm_test_last", "last", value=2)


@pytest.mark.parametrize("encoder", [generate_latest, generate_openmetrics])
def test_sliced_families_encode_to_the_same_bytes(encoder) -> None:
    registry = CollectorRegistry()
    fleet = Fleet(SLICE_SAMPLES + 7)
    registry.register(fleet)
    sizes = [len(f.samples) for f in fleet.collect()]
    assert max(sizes) > 2 * SLICE_SAMPLES and sizes[2] > SLICE_SAMPLES  # slices are cut
    assert render_by_family(encoder, registry) == encoder(registry)
