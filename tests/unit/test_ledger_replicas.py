"""Several replicas' ledgers read as one (monitor.ledger.replicas): maintenance windows and
failovers that both replicas recorded count once, whichever replica comes first."""

from __future__ import annotations

from pathlib import Path

from monitor.ledger.maintenance import StoredWindow
from monitor.ledger.replicas import MergedLedger, Replica
from monitor.ledger.store import EventRow, Heartbeat, LedgerStore
from monitor.statestore import open_state_store
from tests.support.replicas import minute


def store_with(path: Path, host: str, created: int, failover_at: float, cli: bool) -> LedgerStore:
    store = LedgerStore(open_state_store(path))
    run = store.begin_run(minute(0), 1, host, "test")
    at = minute(failover_at)
    store.record(
        run,
        [EventRow("prod", "failover", "slurmctld", "slurmctld", "slurmctld", "ctl2", "backup",
                  "ctl1(primary)", "ctl2(backup)", "failover", at, at, at, 0)],
        [Heartbeat("prod", None, minute(0), minute(100), 1)],
    )  # fmt: skip
    config = StoredWindow(0, "config", minute(10), minute(20), None, None, "patch", "none",
                          None, "UTC", created, "config", config_key="k1")  # fmt: skip
    store.add_window(config)
    if cli:
        store.add_window(
            StoredWindow(
                0,
                "cli",
                minute(30),
                minute(40),
                ("prod",),
                None,
                "kernel",
                "none",
                None,
                "UTC",
                minute(1),
                "alice",
            )  # fmt: skip
        )
    return store


def test_windows_and_failovers_count_once(tmp_path: Path) -> None:
    a = store_with(tmp_path / "a", "mon-a", minute(0), 50, cli=True)
    b = store_with(tmp_path / "b", "mon-b", minute(2), 50.5, cli=False)
    one = MergedLedger([Replica("a", a), Replica("b", b)])
    other = MergedLedger([Replica("b", b), Replica("a", a)])
    windows = one.windows(include_removed=True)
    assert windows == other.windows(include_removed=True)
    assert [(w.id, w.origin, w.reason, w.created_us) for w in windows] == [
        (1, "config", "patch", minute(0)),  # the first mirror of the config's window
        (2, "cli", "kernel", minute(1)),  # added on one replica: counts for the pair
    ]
    events = one.events("prod", minute(0), minute(100), kinds=("failover",))
    assert events == other.events("prod", minute(0), minute(100), kinds=("failover",))
    assert [e.at_us for e in events] == [minute(50)]  # b saw it 30 s later: the same one
    assert one.first_heartbeat("prod") == minute(0)
    assert one.high_water("prod") == minute(100)
    one.close()
