"""SLA figures per service for the current calendar month, from the ledger's last
computation (``Snapshot.sla``), e.g. ``SlaFigures(cluster="prod", service="slurmctld",
objective_ratio=0.999, availability_ratio=0.99972, ...)``."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from exporters.collectors.base import SnapshotCollector

LABELS = ["cluster", "service"]


class SlaCollector(SnapshotCollector):
    def collect(self) -> Iterator[Metric]:
        snap = self._source()
        objective = GaugeMetricFamily(
            "slurm_sla_objective_ratio",
            "The monthly availability objective, e.g. 0.999.",
            labels=LABELS,
        )
        availability = GaugeMetricFamily(
            "slurm_sla_availability_ratio",
            "Availability in the current calendar month to date, maintenance and the "
            "monitor's blind time excluded.",
            labels=LABELS,
        )
        budget = GaugeMetricFamily(
            "slurm_sla_error_budget_remaining_ratio",
            "Share of this month's error budget left: 1 untouched, 0 or less breached.",
            labels=LABELS,
        )
        downtime = CounterMetricFamily(
            "slurm_sla_downtime_seconds",
            "SLA-counted downtime since the state store began.",
            labels=LABELS,
        )
        burn = GaugeMetricFamily(
            "slurm_sla_burn_rate",
            "Error budget burn rate over a trailing window (1 = exactly on budget).",
            labels=[*LABELS, "window"],
        )
        for f in snap.sla:
            labels = [f.cluster, f.service]
            objective.add_metric(labels, f.objective_ratio)
            if f.availability_ratio is not None:
                availability.add_metric(labels, f.availability_ratio)
            if f.error_budget_remaining_ratio is not None:
                budget.add_metric(labels, f.error_budget_remaining_ratio)
            downtime.add_metric(labels, f.downtime_seconds_total)
            for window, rate in sorted(f.burn_rates.items()):
                burn.add_metric([*labels, window], rate)
        yield from (objective, availability, budget, downtime, burn)
