"""Which probes of a cluster are failing, and why, so the log says it once per change.

Counters tell how often a probe failed; only the log can say why (``scontrol ping: a Slurm
configuration file does not exist (...)``). Logging that every round would bury it, so a
failure is logged when a probe starts failing or its reason changes (``probe.failed``),
and once more when it answers again (``probe.recovered``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

import structlog

from monitor.probes.base import ProbeResult
from monitor.reasons import Reason

log = structlog.get_logger("slurm_sla_monitor")


class Change(StrEnum):
    FAILED = "probe.failed"  # started failing, or fails for another reason than before
    RECOVERED = "probe.recovered"


@dataclass(frozen=True)
class ProbeFailureChange:
    change: Change
    probe: str
    reason: Reason | None  # None when recovered
    message: str
    previous: Reason | None  # the reason before this change, if it was failing
    failing_since: dt.datetime  # when the failure (the one that ends, when recovered) began
    at: dt.datetime


@dataclass(frozen=True)
class _Failing:
    reason: Reason
    since: dt.datetime


class ProbeFailures:
    """The failing probes of one cluster, fed with each round's results."""

    def __init__(self) -> None:
        self._failing: dict[str, _Failing] = {}
        self._seen: dict[str, dt.datetime] = {}  # when each probe's last result started

    def update(self, results: Mapping[str, ProbeResult]) -> list[ProbeFailureChange]:
        """The changes this round's results show. A result already seen (a probe that was
        not run again, still carried in the round) says nothing new; one a slow probe
        delivers a round late is news in the round that receives it."""
        changes = []
        for probe, result in sorted(results.items()):
            if self._seen.get(probe) == result.started_at:
                continue
            self._seen[probe] = result.started_at
            change = self._one(probe, result)
            if change is not None:
                changes.append(change)
        return changes

    @property
    def failing(self) -> dict[str, Reason]:
        return {probe: f.reason for probe, f in self._failing.items()}

    def _one(self, probe: str, result: ProbeResult) -> ProbeFailureChange | None:
        before = self._failing.get(probe)
        if result.reason is None:
            if before is None:
                return None
            del self._failing[probe]
            return ProbeFailureChange(
                Change.RECOVERED, probe, None, "", before.reason, before.since, result.started_at
            )
        if before is not None and before.reason is result.reason:
            return None
        since = before.since if before else result.started_at
        self._failing[probe] = _Failing(result.reason, since)
        return ProbeFailureChange(
            Change.FAILED,
            probe,
            result.reason,
            result.message,
            before.reason if before else None,
            since,
            result.started_at,
        )


def log_changes(cluster: str, changes: Iterable[ProbeFailureChange]) -> None:
    for c in changes:
        if c.change is Change.FAILED:
            assert c.reason is not None
            log.warning(
                c.change.value,
                cluster=cluster,
                probe=c.probe,
                reason=c.reason.value,
                message=c.message,
                previous_reason=c.previous.value if c.previous else None,
            )
        else:
            log.info(
                c.change.value,
                cluster=cluster,
                probe=c.probe,
                previous_reason=c.previous.value if c.previous else None,
                failed_for_s=round((c.at - c.failing_since).total_seconds(), 3),
            )
