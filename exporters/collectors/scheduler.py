"""slurmctld's scheduler load, from the last ``sdiag`` (``ClusterStatus.statistics``).

The statistics use Slurm's ``--json`` names, e.g.::

    {"server_thread_count": 3, "agent_queue_size": 0, "dbd_agent_queue_size": 0,
     "schedule_cycle_last": 72, "jobs_submitted": 10, "rpcs_by_message_type": [...], ...}

Slurm reports cycle times in microseconds; we export seconds. A value sdiag did not print
(``Mean cycle`` for a minute after each restart, backfill before a backfill cycle) is left
out, never exported as 0. Counters reset when slurmctld restarts or statistics are reset,
which ``rate()`` handles.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from exporters.collectors.base import SnapshotCollector

MICRO = 1e-6

# (sdiag key, metric name, kind, help, scale)
_SCALARS: tuple[tuple[str, str, str, str, float], ...] = (
    (
        "server_thread_count",
        "slurm_scheduler_server_threads",
        "gauge",
        "slurmctld server threads busy (sdiag 'Server thread count').",
        1,
    ),
    (
        "agent_queue_size",
        "slurm_scheduler_agent_queue_size",
        "gauge",
        "Outgoing RPCs queued in slurmctld's agent (sdiag 'Agent queue size').",
        1,
    ),
    (
        "agent_count",
        "slurm_scheduler_agents",
        "gauge",
        "Agent threads' parents alive (sdiag 'Agent count').",
        1,
    ),
    (
        "agent_thread_count",
        "slurm_scheduler_agent_threads",
        "gauge",
        "Agent threads alive (sdiag 'Agent thread count').",
        1,
    ),
    (
        "dbd_agent_queue_size",
        "slurm_scheduler_dbd_agent_queue_size",
        "gauge",
        "Messages for slurmdbd queued in slurmctld; grows while slurmdbd is unreachable.",
        1,
    ),
    (
        "schedule_cycle_last",
        "slurm_scheduler_cycle_last_seconds",
        "gauge",
        "Duration of the last main scheduling cycle.",
        MICRO,
    ),
    (
        "schedule_cycle_max",
        "slurm_scheduler_cycle_max_seconds",
        "gauge",
        "Longest main scheduling cycle since statistics began.",
        MICRO,
    ),
    (
        "schedule_cycle_mean",
        "slurm_scheduler_cycle_mean_seconds",
        "gauge",
        "Mean main scheduling cycle since statistics began.",
        MICRO,
    ),
    (
        "schedule_cycle_mean_depth",
        "slurm_scheduler_cycle_mean_depth",
        "gauge",
        "Mean jobs considered per main scheduling cycle.",
        1,
    ),
    (
        "schedule_cycle_per_minute",
        "slurm_scheduler_cycles_per_minute",
        "gauge",
        "Main scheduling cycles per minute.",
        1,
    ),
    (
        "schedule_queue_length",
        "slurm_scheduler_queue_length",
        "gauge",
        "Jobs in the main scheduler's queue at its last cycle.",
        1,
    ),
    (
        "schedule_cycle_total",
        "slurm_scheduler_cycles_total",
        "counter",
        "Main scheduling cycles since statistics began.",
        1,
    ),
    (
        "jobs_submitted",
        "slurm_scheduler_jobs_submitted_total",
        "counter",
        "Jobs submitted since statistics began (Slurm resets at midnight).",
        1,
    ),
    (
        "jobs_started",
        "slurm_scheduler_jobs_started_total",
        "counter",
        "Jobs started since statistics began.",
        1,
    ),
    (
        "jobs_completed",
        "slurm_scheduler_jobs_completed_total",
        "counter",
        "Jobs completed since statistics began.",
        1,
    ),
    (
        "jobs_canceled",
        "slurm_scheduler_jobs_canceled_total",
        "counter",
        "Jobs canceled since statistics began.",
        1,
    ),
    (
        "jobs_failed",
        "slurm_scheduler_jobs_failed_total",
        "counter",
        "Jobs failed since statistics began.",
        1,
    ),
    (
        "jobs_pending",
        "slurm_scheduler_jobs_pending",
        "gauge",
        "Jobs pending at the time of the last sdiag.",
        1,
    ),
    (
        "jobs_running",
        "slurm_scheduler_jobs_running",
        "gauge",
        "Jobs running at the time of the last sdiag.",
        1,
    ),
    (
        "bf_cycle_last",
        "slurm_scheduler_backfill_cycle_last_seconds",
        "gauge",
        "Duration of the last backfill cycle.",
        MICRO,
    ),
    (
        "bf_cycle_max",
        "slurm_scheduler_backfill_cycle_max_seconds",
        "gauge",
        "Longest backfill cycle since statistics began.",
        MICRO,
    ),
    (
        "bf_cycle_mean",
        "slurm_scheduler_backfill_cycle_mean_seconds",
        "gauge",
        "Mean backfill cycle since statistics began.",
        MICRO,
    ),
    (
        "bf_depth_mean",
        "slurm_scheduler_backfill_depth_mean",
        "gauge",
        "Mean jobs considered per backfill cycle.",
        1,
    ),
    (
        "bf_queue_len",
        "slurm_scheduler_backfill_queue_length",
        "gauge",
        "Jobs in the backfill queue at its last cycle.",
        1,
    ),
    (
        "bf_cycle_counter",
        "slurm_scheduler_backfill_cycles_total",
        "counter",
        "Backfill cycles since statistics began.",
        1,
    ),
    (
        "bf_backfilled_jobs",
        "slurm_scheduler_backfilled_jobs_total",
        "counter",
        "Jobs started by backfill since statistics began.",
        1,
    ),
    (
        "req_time_start",
        "slurm_scheduler_stats_since_timestamp_seconds",
        "gauge",
        "When slurmctld's statistics began (0 right after a takeover).",
        1,
    ),
)


class SchedulerCollector(SnapshotCollector):
    def collect(self) -> Iterator[Metric]:
        snap = self._source()
        families: dict[str, GaugeMetricFamily | CounterMetricFamily] = {}
        for key, name, kind, text, _ in _SCALARS:
            cls = CounterMetricFamily if kind == "counter" else GaugeMetricFamily
            metric_name = name.removesuffix("_total") if kind == "counter" else name
            families[key] = cls(
                metric_name, text + " Cached from the last sdiag.", labels=["cluster"]
            )
        by_type = _rpc_families("slurm_scheduler_rpc", "message_type", "RPC message type")
        by_user = _rpc_families("slurm_scheduler_user_rpc", "user", "user")
        for cluster in snap.clusters:
            stats: Mapping[str, Any] = cluster.statistics or {}
            for key, _, _, _, scale in _SCALARS:
                value = stats.get(key)
                if isinstance(value, int | float) and not isinstance(value, bool):
                    families[key].add_metric([cluster.name], value * scale)
            for row in stats.get("rpcs_by_message_type") or ():
                _add_rpc(by_type, cluster.name, str(row.get("message_type", "")), row)
            for row in stats.get("rpcs_by_user") or ():
                _add_rpc(by_user, cluster.name, str(row.get("user", "")), row)
        yield from families.values()
        yield from by_type
        yield from by_user


def _rpc_families(prefix: str, label: str, what: str) -> tuple[CounterMetricFamily, ...]:
    return (
        CounterMetricFamily(
            f"{prefix}_calls",
            f"RPCs received by slurmctld per {what} (cached from the last sdiag).",
            labels=["cluster", label],
        ),
        CounterMetricFamily(
            f"{prefix}_duration_seconds",
            f"Time slurmctld spent on RPCs per {what} (cached from the last sdiag).",
            labels=["cluster", label],
        ),
    )


def _add_rpc(
    families: tuple[CounterMetricFamily, ...], cluster: str, key: str, row: Mapping[str, Any]
) -> None:
    calls, duration = families
    if isinstance(row.get("count"), int | float):
        calls.add_metric([cluster, key], float(row["count"]))
    if isinstance(row.get("total_time"), int | float):
        duration.add_metric([cluster, key], float(row["total_time"]) * MICRO)
