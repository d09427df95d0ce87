"""The monitor's own work, by direct instrumentation on a registry it is given."""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)

ROUND_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0)


class MonitorMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        # No `<name>_created` series beside each counter and histogram: they double the
        # exposition, promtool and most dashboards have no use for them, and nothing of ours
        # reads them. prometheus_client's switch is process-wide and read at every scrape;
        # these are the process's only Counter and Histogram objects (collectors build fresh
        # families without a created time).
        disable_created_metrics()
        self.rounds = Counter(
            "slurm_sla_monitor_probe_rounds_total",
            "Probe rounds run, per cluster and service lane.",
            ["cluster", "service"],
            registry=registry,
        )
        self.round_duration = Histogram(
            "slurm_sla_monitor_probe_round_duration_seconds",
            "Wall time of a probe round (slow probes that outlive it are not waited for).",
            ["cluster", "service"],
            buckets=ROUND_BUCKETS,
            registry=registry,
        )
        self.probe_duration = Histogram(
            "slurm_sla_monitor_probe_duration_seconds",
            "Duration of each probe command the monitor ran.",
            ["cluster", "probe"],
            buckets=ROUND_BUCKETS,
            registry=registry,
        )
        # slurm_sla_monitor_probe_failures_total is derived from the cluster health's count,
        # with slurm_probe_errors_total (exporters/collectors/services.py): one source.
        self.round_errors = Counter(
            "slurm_sla_monitor_round_errors_total",
            "Probe rounds that crashed (a bug: see the log).",
            ["cluster", "service"],
            registry=registry,
        )
        self.reload_ok = Gauge(
            "slurm_sla_config_last_reload_successful",
            "1 if the last configuration (re)load succeeded.",
            registry=registry,
        )
        self.reload_time = Gauge(
            "slurm_sla_config_last_reload_success_timestamp_seconds",
            "When the configuration was last loaded successfully.",
            registry=registry,
        )
        self.confirm_rounds = Counter(
            "slurm_sla_monitor_confirm_rounds_total",
            "Extra rounds run to confirm a change quickly (fast confirmation).",
            ["cluster", "service"],
            registry=registry,
        )
        self.overdue_rounds = Counter(
            "slurm_sla_monitor_overdue_rounds_total",
            "Rounds started by the guard because the scheduler had not run them on time.",
            ["cluster", "service"],
            registry=registry,
        )
        self.clock_steps = Counter(
            "slurm_sla_monitor_clock_steps_total",
            "Wall-clock steps seen against the monotonic clock.",
            registry=registry,
        )
        self.clock_offset = Gauge(
            "slurm_sla_monitor_clock_offset_seconds",
            "Wall clock minus the monitor's clock since the last step (negative: the wall "
            "clock stepped back and the monitor's timeline did not follow).",
            registry=registry,
        )
