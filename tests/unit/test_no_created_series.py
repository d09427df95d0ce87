"""/metrics has no `_created` series: the daemon's registry, with every counter and
histogram of the monitor's own work incremented, exposes `_total`, `_bucket`, `_sum` and
`_count` only."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from monitor.config import load_config
from monitor.selfmetrics import MonitorMetrics
from monitor.service import Service

CONFIG = """
[monitor]
listen = "127.0.0.1:0"
state_dir = "{state}"

[[clusters]]
name = "prod"
slurm_bin = "/nonexistent"
"""


def test_the_daemons_registry_has_no_created_series(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(state=tmp_path / "state"))
    service = Service(path, load_config(path))
    try:
        used = exercise(service.daemon.metrics)
        text = generate_latest(service.registry).decode()
    finally:
        service.db.close()
    assert used >= 4
    assert 'slurm_sla_monitor_probe_rounds_total{cluster="prod",service="prod"} 1.0' in text
    count = "slurm_sla_monitor_probe_round_duration_seconds_count"
    assert count + '{cluster="prod",service="prod"} 1.0' in text
    assert "_created" not in text, [x for x in text.splitlines() if "_created" in x]


def exercise(metrics: MonitorMetrics) -> int:
    """Give every counter and histogram of the monitor's own a sample; how many there are."""
    used = 0
    for metric in vars(metrics).values():
        if not isinstance(metric, Counter | Histogram):
            continue
        labels = ["prod"] * len(metric._labelnames)
        child = metric.labels(*labels) if labels else metric
        if isinstance(metric, Counter):
            child.inc()
        else:
            child.observe(0.3)
        used += 1
    return used


def test_the_switch_holds_for_any_counter_in_the_process():
    """Process-wide, as the daemon relies on (set once the monitor's metrics exist)."""
    MonitorMetrics(CollectorRegistry())
    registry = CollectorRegistry()
    Counter("example_events_total", "Events.", registry=registry).inc()
    assert "_created" not in generate_latest(registry).decode()
