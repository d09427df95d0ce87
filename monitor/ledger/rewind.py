"""Taking back what a wrong clock wrote: every ledger record dated after an instant.

A wall clock set forward by mistake (a year, say) dates the records of every round in the
future. Once the clock is corrected and the monitor restarted, its new rounds lie before
what the store already holds, so it holds them back until the clock catches up (README,
"Clock steps"): no double count, no negative time, but nothing counted meanwhile. This
removes those records instead: the observations they carried are lost (that stretch
becomes unknown time, which is what the monitor can truthfully say of it), the records
before the instant are untouched.

- transitions dated after the instant go; one before it whose confirmation is dated after
  keeps its instant and is confirmed at the cut;
- heartbeat segments that begin after it go, one that spans it ends there;
- a run that began after it, and holds nothing left, goes;
- the months' cached totals go (they are recomputed from the records on the next read).
Maintenance windows and their audit (what people planned, not what the monitor saw) stay.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from monitor.store.db import Database

# What is after the cut, counted per cluster (named as ClusterAfter's fields).
_COUNTS = {
    "transitions": "SELECT s.cluster, COUNT(*) FROM ledger_transitions t "
    "JOIN ledger_streams s ON s.id = t.stream_id WHERE t.at_us > :cut GROUP BY s.cluster",
    "confirmations": "SELECT s.cluster, COUNT(*) FROM ledger_transitions t "
    "JOIN ledger_streams s ON s.id = t.stream_id WHERE t.at_us <= :cut "
    "AND t.at_us + MAX(t.confirmed_delta_us, t.recorded_delta_us) > :cut GROUP BY s.cluster",
    "segments": "SELECT cluster, COUNT(*) FROM ledger_heartbeats WHERE first_us > :cut "
    "GROUP BY cluster",
    "cut_segments": "SELECT cluster, COUNT(*) FROM ledger_heartbeats "
    "WHERE first_us <= :cut AND last_us > :cut GROUP BY cluster",
}

_APPLY = (
    "DELETE FROM ledger_transitions WHERE at_us > :cut",
    "UPDATE ledger_transitions SET confirmed_delta_us = MIN(confirmed_delta_us, :cut - at_us), "
    "recorded_delta_us = MIN(recorded_delta_us, :cut - at_us) "
    "WHERE at_us + MAX(confirmed_delta_us, recorded_delta_us) > :cut",
    "DELETE FROM ledger_heartbeats WHERE first_us > :cut",
    "UPDATE ledger_heartbeats SET last_us = :cut WHERE last_us > :cut",
    "DELETE FROM ledger_runs WHERE started_us > :cut "
    "AND id NOT IN (SELECT run_id FROM ledger_heartbeats) "
    "AND id NOT IN (SELECT run_id FROM ledger_transitions)",
    "DELETE FROM ledger_month_totals",
)


@dataclass(frozen=True)
class ClusterAfter:
    """What one cluster's records hold after the instant."""

    cluster: str
    transitions: int = 0  # removed
    confirmations: int = 0  # kept, confirmed at the cut
    segments: int = 0  # heartbeat segments removed
    cut_segments: int = 0  # heartbeat segments ended at the cut

    @property
    def empty(self) -> bool:
        return not (self.transitions or self.confirmations or self.segments or self.cut_segments)


@dataclass(frozen=True)
class RewindPlan:
    cutoff_us: int
    clusters: tuple[ClusterAfter, ...]
    runs: int  # runs that began after the cutoff
    latest_us: int | None  # the latest instant the store holds

    @property
    def empty(self) -> bool:
        return all(c.empty for c in self.clusters)


def plan(db: Database, cutoff_us: int) -> RewindPlan:
    counts: dict[str, dict[str, int]] = {}
    for what, sql in _COUNTS.items():
        for cluster, n in db.query(sql, {"cut": cutoff_us}):
            counts.setdefault(cluster, {})[what] = n
    runs = db.query("SELECT COUNT(*) FROM ledger_runs WHERE started_us > ?", (cutoff_us,))
    latest = db.query(
        "SELECT MAX(x) FROM (SELECT MAX(last_us) AS x FROM ledger_heartbeats UNION ALL "
        "SELECT MAX(at_us + MAX(confirmed_delta_us, recorded_delta_us)) FROM ledger_transitions)"
    )
    return RewindPlan(
        cutoff_us,
        tuple(ClusterAfter(name, **counts[name]) for name in sorted(counts)),
        runs[0][0],
        latest[0][0],
    )


def backup(db: Database, directory: Path, now: dt.datetime) -> Path:
    """A consistent copy of the whole store (SQLite's online backup), before any change."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"before-rewind-{now.strftime('%Y%m%dT%H%M%SZ')}.sqlite3"
    with closing(sqlite3.connect(db.path)) as source, closing(sqlite3.connect(target)) as copy:
        source.backup(copy)
    return target


def apply(db: Database, cutoff_us: int) -> None:
    """Remove the records after ``cutoff_us`` in one transaction (all or nothing)."""
    with db.transaction() as conn:
        for sql in _APPLY:
            conn.execute(sql, {"cut": cutoff_us})
