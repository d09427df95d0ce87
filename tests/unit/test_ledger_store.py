"""The ledger's store: migrations and reopening, append-only writes, maintenance audit,
and the bad states (locked, full, read-only, corrupt, newer schema): a clear StoreError
naming the cause, the ledger unhealthy but never raising into the daemon, nothing lost
while it can retry, and nothing committed damaged."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest
from freezegun import freeze_time

from monitor.errors import StoreError
from monitor.ledger.ledger import Ledger
from monitor.ledger.maintenance import StoredWindow
from monitor.ledger.store import EventRow, Heartbeat, LedgerStore
from monitor.statestore import MIGRATIONS
from monitor.store.db import DB_NAME, Database
from tests.support.ledger import T0, Monitor, config, now

LEDGER_TABLES = {
    "ledger_runs", "ledger_heartbeats", "ledger_texts", "ledger_streams",
    "ledger_transitions", "maintenance_windows", "maintenance_audit",
}  # fmt: skip


def tables(db: Database) -> set[str]:
    return {r[0] for r in db.query("SELECT name FROM sqlite_master WHERE type = 'table'")}


def service_events(path) -> list[tuple[str, int]]:
    db = Database.in_dir(path, migrations=MIGRATIONS)
    rows = db.query("SELECT new, at_us FROM ledger_transitions_v WHERE kind = 'service'")
    db.close()
    return sorted(((r[0], r[1]) for r in rows), key=lambda r: r[1])


def test_migration_creates_the_ledger_tables_and_reopening_keeps_everything(tmp_path):
    assert MIGRATIONS[0].version == 1
    db = Database.in_dir(tmp_path, migrations=MIGRATIONS)
    assert tables(db) >= LEDGER_TABLES and db.schema_version >= 1
    store = LedgerStore(db)
    run = store.begin_run(1, 42, "host", "0.1.0")
    row = EventRow("prod", "service", "slurmctld", "slurmctld", "", "", "", "unknown", "up",
                   "ok", 100, 110, 120, 1)  # fmt: skip
    (seg,) = store.record(run, [row], [Heartbeat("prod", None, 100, 200, 2)])
    store.record(run, [], [Heartbeat("prod", seg, 100, 150, 3)])  # never shrinks
    db.close()
    again = Database.in_dir(tmp_path, migrations=MIGRATIONS)
    store = LedgerStore(again)
    (cov,) = store.coverage("prod", 0, 1000)
    assert (cov.first, cov.last) == (100, 200)
    (event,) = store.events("prod", 0, 1000)
    assert (event.new, event.at_us, event.confirmed_us, event.run) == ("up", 100, 110, run)
    assert store.last_service_states() == {("prod", "slurmctld"): ("up", 100, run)}
    assert again.query("PRAGMA integrity_check")[0][0] == "ok"


def test_maintenance_changes_are_audited_never_rewritten(tmp_path):
    store = LedgerStore(Database.in_dir(tmp_path, migrations=MIGRATIONS))
    w = StoredWindow(0, "cli", 10, 20, ("prod",), None, "patch", "none", None, "UTC", 5, "bob")
    wid = store.add_window(w, "patch")
    version = store.maintenance_version()
    store.remove_window(wid, "alice", "cancelled", 15, 15)
    assert store.maintenance_version() > version
    assert store.windows() == []
    (removed,) = store.windows(include_removed=True)
    assert (removed.removed_by, removed.effective_us, removed.start_us) == ("alice", 15, 10)
    audit = store.db.query("SELECT action, actor FROM maintenance_audit ORDER BY id")
    assert [tuple(r) for r in audit] == [("add", "bob"), ("remove", "alice")]


def test_a_locked_store_is_reported_and_the_events_are_written_afterwards(tmp_path):
    cfg = config(tmp_path)
    with freeze_time(T0) as frozen:
        m = Monitor(
            cfg,
            frozen,
            connect=lambda: Database.in_dir(tmp_path, timeout=0.05, migrations=MIGRATIONS),
        )
        m.rounds(5)
        holder = sqlite3.connect(tmp_path / DB_NAME, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        m.rounds(10, primary=False)
        assert not m.ledger.healthy
        (problem,) = m.ledger.problems()
        assert "locked" in problem and "waiting to be written" in problem
        assert m.ledger.pending_events > 0
        holder.execute("ROLLBACK")
        holder.close()
        m.rounds(1, primary=False)
        assert m.ledger.healthy and m.ledger.problems() == []
        assert [s for s, _ in service_events(tmp_path)] == ["up", "down"]
        assert m.figures().downtime_seconds_total == 100


class _NoRoom(Database):
    """A disk with room for only a few more pages (SQLITE_FULL, as on a full disk)."""

    def _configure(self) -> None:
        super()._configure()
        pages = self._conn.execute("PRAGMA page_count").fetchone()[0]
        self._conn.execute(f"PRAGMA max_page_count={pages + 1}")


def test_a_full_disk_is_named_and_committed_data_survives(tmp_path):
    cfg = config(tmp_path)
    with freeze_time(T0) as frozen:
        m = Monitor(cfg, frozen)
        m.rounds(5)
        m.ledger.close()
        m = Monitor(cfg, frozen, connect=lambda: _NoRoom(tmp_path / DB_NAME, migrations=MIGRATIONS))
        for _ in range(200):  # flapping fills the last page
            m.rounds(2, primary=False)
            m.rounds(2)
            if not m.ledger.healthy:
                break
        assert not m.ledger.healthy
        assert "disk is full" in m.ledger.last_error
        assert "cannot rollback" not in m.ledger.last_error
        committed = service_events(tmp_path)
        assert committed[0][0] == "up"
        db = Database.in_dir(tmp_path, migrations=MIGRATIONS)
        assert db.query("PRAGMA integrity_check")[0][0] == "ok"
        db.close()


class _ReadOnly(Database):
    def _configure(self) -> None:
        super()._configure()
        self._conn.execute("PRAGMA query_only=ON")


def test_a_read_only_store_is_reported_then_retried(tmp_path):
    cfg = config(tmp_path)
    Database.in_dir(
        tmp_path, migrations=MIGRATIONS
    ).close()  # the store exists, at the current schema
    dbs = iter(
        [
            _ReadOnly(tmp_path / DB_NAME, migrations=MIGRATIONS),
            Database.in_dir(tmp_path, migrations=MIGRATIONS),
        ]
    )
    with freeze_time(T0) as frozen:
        m = Monitor(cfg, frozen, connect=lambda: next(dbs), retry_seconds=30)
        assert "read-only" in m.ledger.last_error
        m.rounds(6, primary=False)  # queued while the store is unusable; reopened at 30 s
        assert m.ledger.healthy
        assert [s for s, _ in service_events(tmp_path)] == ["down"]


def test_a_corrupt_file_is_named_and_left_untouched(tmp_path):
    path = tmp_path / DB_NAME
    path.write_bytes(b"this is not a database" * 200)
    before = path.read_bytes()
    cfg = config(tmp_path)
    with freeze_time(T0) as frozen:
        m = Monitor(cfg, frozen)
        m.rounds(3)
        assert not m.ledger.healthy
        assert "corrupt" in m.ledger.last_error and str(path) in m.ledger.last_error
        assert path.read_bytes() == before
        assert m.figures().availability_ratio is None  # no figures, no exception


def test_damaged_pages_fail_the_integrity_check(tmp_path):
    cfg = config(tmp_path)
    with freeze_time(T0) as frozen:
        m = Monitor(cfg, frozen)
        for _ in range(100):
            m.rounds(2, primary=False)
            m.rounds(2)
        m.ledger.close()
    path = tmp_path / DB_NAME
    data = bytearray(path.read_bytes())
    page = 4096
    for n in range(2, len(data) // page):  # every b-tree page header after the schema
        data[n * page : n * page + 12] = b"\xff" * 12
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError, match="integrity check failed|corrupt"):
        Database.in_dir(tmp_path, migrations=MIGRATIONS)


def test_a_newer_schema_is_refused_with_a_clear_error(tmp_path):
    db = Database.in_dir(tmp_path, migrations=MIGRATIONS)
    db._conn.execute("PRAGMA user_version=99")
    db.close()
    with freeze_time(T0):
        ledger = Ledger.open(config(tmp_path), clock=now)
        assert not ledger.healthy and "newer than this program knows" in ledger.last_error


def test_pending_events_are_bounded_and_the_loss_is_reported(tmp_path):
    cfg = config(tmp_path)
    path = tmp_path / DB_NAME
    path.write_bytes(b"garbage" * 1000)
    with freeze_time(T0) as frozen:
        m = Monitor(cfg, frozen, max_pending_events=3, retry_seconds=3600)
        for _ in range(5):
            m.rounds(2, primary=False)
            m.rounds(2)
        assert m.ledger.pending_events == 3 and m.ledger.lost_events > 0
        assert "dropped" in m.ledger.problems()[0]


def test_on_round_never_raises_on_a_store_bug(tmp_path):
    cfg = config(tmp_path)

    def broken() -> Database:
        raise StoreError(f"{tmp_path}: cannot open the state store: boom")

    with freeze_time(T0) as frozen:
        m = Monitor(cfg, frozen, connect=broken, retry_seconds=0)
        m.rounds(3)
        assert m.ledger.last_error.endswith("boom")
        assert m.ledger.figures(dt.datetime.now(dt.UTC))[0].availability_ratio is None


def test_an_open_failure_names_a_read_only_file_system(tmp_path, monkeypatch):
    import os

    from monitor.ledger.store import diagnose, open_database

    class ReadOnlyFs:
        f_flag = os.ST_RDONLY
        f_bavail = 100

    from monitor.store import opening

    assert diagnose(tmp_path / "missing" / "dir") is None
    (tmp_path / "state").mkdir()

    def cannot_open(*args, **kwargs):
        raise StoreError("unable to open database file")  # all SQLite says

    monkeypatch.setattr(opening.Database, "in_dir", cannot_open)
    monkeypatch.setattr(os, "statvfs", lambda path: ReadOnlyFs())
    with pytest.raises(StoreError, match="unable to open database file.*read-only file system"):
        open_database(tmp_path / "state")


def test_a_state_dir_that_is_a_file_says_so(tmp_path):
    from monitor.ledger.store import open_database

    (tmp_path / "state").write_text("a file where the directory should be")
    with pytest.raises(StoreError, match="is a file, not a directory"):
        open_database(tmp_path / "state")


def test_close_leaves_a_shared_database_open(tmp_path):
    shared = Database.in_dir(tmp_path, migrations=MIGRATIONS)
    with freeze_time(T0) as frozen:
        m = Monitor(config(tmp_path), frozen, connect=lambda: shared, close_database=False)
        m.rounds(3)
        m.ledger.close()
    assert shared.query("SELECT COUNT(*) FROM ledger_runs")[0][0] == 1  # still usable
