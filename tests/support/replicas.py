"""Two replicas' ledgers of one cluster, written straight through LedgerStore (the shape
the daemon's Ledger leaves: a run, heartbeat segments, service transitions), for the HA
merge and exchange tests. Times are minutes after T0 (2026-10-05T10:00Z)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from monitor.ledger.store import EventRow, Heartbeat, LedgerStore
from monitor.ledger.timebase import MINUTE_US, to_us
from monitor.statestore import open_state_store

T0 = to_us(dt.datetime(2026, 10, 5, 10, 0, tzinfo=dt.UTC))
NOW = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)  # the report of October is made then
CONFIG = """\
[monitor]
state_dir = "{state}"

[[clusters]]
name = "prod"
accounting = false

[slo]
slurmctld = 99.9

[sla]
timezone = "UTC"
"""


def minute(m: float) -> int:
    return T0 + round(m * MINUTE_US)


def write_replica(
    state_dir: Path,
    host: str,
    spans: list[tuple[float, float, list[tuple[float, str, str]]]],
) -> LedgerStore:
    """One replica's state store: per run, [first, last) minutes covered and its service
    changes (minute, new state, cause) for slurmctld."""
    store = LedgerStore(open_state_store(state_dir))
    for first, last, changes in spans:
        run = store.begin_run(minute(first), 100, host, "test")
        old = "unknown"
        events = []
        for seq, (m, new, cause) in enumerate(changes):
            at = minute(m)
            events.append(
                EventRow("prod", "service", "slurmctld", "slurmctld", "", "", "", old, new,
                         cause, at, at, at, seq)
            )  # fmt: skip
            old = new
        store.record(run, events, [Heartbeat("prod", None, minute(first), minute(last), 1)])
    return store


def pair(base: Path) -> tuple[Path, Path]:
    """Replica a: cut off from the controllers 60-90 (sees down; b sees up), then killed
    at 200 in an outage (down from 180) and back at 400; b sees the outage 180-260 and
    is itself absent 300-500 (a covers it)."""
    a, b = base / "a", base / "b"
    write_replica(
        a,
        "mon-a",
        [
            (-60 * 24 * 10, 200, [(-60 * 24 * 10, "up", "ok"), (60, "down", "no_controller"),
                                  (90, "up", "ok"), (180, "down", "no_controller")]),
            (400, 60 * 24 * 30, [(401, "up", "ok")]),
        ],
    ).db.close()  # fmt: skip
    write_replica(
        b,
        "mon-b",
        [
            (-60 * 24 * 10, 300, [(-60 * 24 * 10, "up", "ok"), (180, "down", "no_controller"),
                                  (260, "up", "ok")]),
            (500, 60 * 24 * 30, [(500.5, "up", "ok")]),
        ],
    ).db.close()  # fmt: skip
    return a, b
