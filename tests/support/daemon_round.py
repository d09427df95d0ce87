"""An in-process Daemon's settings for quick rounds (interval 1 s, no jitter, one cluster
without accounting) and its count of rounds, for the tests of the daemon's scheduling."""

from __future__ import annotations

from monitor.config import (
    ClusterConfig,
    Config,
    MonitorSettings,
    SlaSettings,
    SloTargets,
    Thresholds,
)
from monitor.daemon import Daemon


def config(**monitor) -> Config:
    settings = MonitorSettings(interval_seconds=1.0, jitter_seconds=0.0, **monitor)
    return Config(
        settings,
        (ClusterConfig(name="prod", accounting=False),),
        SloTargets(),
        SlaSettings(),
        Thresholds(),
    )


def rounds(daemon: Daemon, service: str = "slurmctld") -> float:
    return daemon.metrics.rounds.labels("prod", service)._value.get()  # noqa: SLF001
