"""What the ledger has made durable at any moment (what a SIGKILL would leave), and the
ledger on a store that hangs (a frozen file system).

Flush policy, on a fake clock: a healthy cluster's heartbeat-only rounds share a commit at
most one probe interval old; while a service is not up every round is written at once, so
a SIGKILL never loses seen downtime beyond the round in progress."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from freezegun import freeze_time

from monitor.health import ClusterHealth
from monitor.ledger.ledger import Ledger
from monitor.ledger.store import LedgerStore
from monitor.ledger.timebase import US, to_us
from monitor.observation import State
from monitor.statestore import MIGRATIONS
from monitor.store.db import DB_NAME, Database
from monitor.storeworker import StoreWorker
from tests.support.ledger import T0, config, now, observe

ROUND = dt.timedelta(seconds=2)  # rounds closer than the 10 s interval (confirmation rounds)


class CountingDatabase(Database):
    def __init__(self, *args, **kwargs) -> None:
        self.commits = 0
        super().__init__(*args, **kwargs)

    @contextmanager
    def transaction(self) -> Iterator:
        with super().transaction() as conn:
            yield conn
        self.commits += 1


class FreezableDatabase(Database):
    """A write blocks, holding the connection, while ``thawed`` is clear: fsfreeze."""

    def __init__(self, *args, **kwargs) -> None:
        self.thawed = threading.Event()
        self.thawed.set()
        self.hanging = threading.Event()
        super().__init__(*args, **kwargs)

    @contextmanager
    def transaction(self) -> Iterator:
        with super().transaction() as conn:
            if not self.thawed.is_set():
                self.hanging.set()
                self.thawed.wait()
            yield conn


def durable_until(state_dir) -> int | None:
    """The last instant a fresh process would find in the store (what a SIGKILL leaves)."""
    reader = Database.in_dir(state_dir, migrations=MIGRATIONS)
    try:
        return LedgerStore(reader).last_heartbeats().get("prod")
    finally:
        reader.close()


def test_healthy_rounds_batch_and_rounds_of_an_outage_are_written_at_once(tmp_path):
    cfg = config(tmp_path)  # interval 10 s
    with freeze_time(T0) as frozen:
        db = CountingDatabase(tmp_path / DB_NAME, migrations=MIGRATIONS)
        ledger = Ledger(cfg, lambda: db, clock=now, close_database=False)
        health = ClusterHealth("prod", cfg.monitor, now())

        def round_(primary: bool) -> None:
            frozen.tick(ROUND)
            events = health.update(observe(primary))
            ledger.on_round(health.status(), events, now())

        for _ in range(3):
            round_(True)  # unknown -> up
        commits = db.commits
        for _ in range(50):  # 100 s healthy
            round_(True)
            lag = to_us(now()) - durable_until(tmp_path)
            assert 0 <= lag < 10 * US  # never more than one interval behind
        assert db.commits - commits <= 100 // 10 + 1  # one commit per interval, not per round

        while health.status().services["slurmctld"].state is not State.DOWN:
            round_(False)
        for _ in range(20):  # the outage: every round durable when it returns
            round_(False)
            assert durable_until(tmp_path) == to_us(now())
        while health.status().services["slurmctld"].state is not State.UP:
            round_(True)  # the recovery confirmed: a transition, written at once too
            assert durable_until(tmp_path) == to_us(now())


def test_a_frozen_store_never_blocks_recording_and_nothing_is_lost(tmp_path):
    cfg = config(tmp_path)
    db = FreezableDatabase(tmp_path / DB_NAME, migrations=MIGRATIONS)
    ledger = Ledger(cfg, lambda: db, close_database=False)
    health = ClusterHealth("prod", cfg.monitor, now())

    def record(primary: bool) -> list:
        events = health.update(observe(primary))
        ledger.record(health.status(), events, now())
        return events

    for _ in range(3):
        record(True)
    ledger.write()
    before = ledger.figures(now())
    db.thawed.clear()  # the disk freezes under the next write
    transitions = [e for _ in range(4) for e in record(False)]
    assert [(e.kind, e.new) for e in transitions if e.kind == "service"] == [("service", "down")]
    writer = threading.Thread(target=ledger.write, daemon=True)
    writer.start()
    assert db.hanging.wait(10)

    # the round thread: recording and the snapshot's figures never wait for the write
    rounds = threading.Thread(target=lambda: [record(i > 5) for i in range(10)], daemon=True)
    rounds.start()
    rounds.join(10)
    assert not rounds.is_alive(), "recording a round waited for the frozen store"
    figures_thread_done = threading.Event()
    answer: list = []

    def read_figures() -> None:
        answer.append(ledger.figures(now()))
        figures_thread_done.set()

    threading.Thread(target=read_figures, daemon=True).start()
    assert figures_thread_done.wait(10), "the figures waited for the frozen store"
    assert answer[0] == before  # the last figures, not a hang
    assert ledger.pending_events > 0 and not ledger.healthy

    db.thawed.set()
    writer.join(10)
    assert ledger.write() and ledger.healthy
    reader = LedgerStore(Database.in_dir(tmp_path, migrations=MIGRATIONS))
    stored = reader.events("prod", 0, to_us(now()) + US, kinds=["service"])
    assert [(e.old, e.new) for e in stored] == [("unknown", "up"), ("up", "down"), ("down", "up")]


class Monotonic:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


class AlertJournal:
    """Stands in for the alert engine: notes each transition and whether it was durable."""

    def __init__(self, state_dir) -> None:
        self.state_dir = state_dir
        self.seen: list[tuple[str, str, bool]] = []

    def on_round(self, status, events, now) -> None:
        for e in events:
            if e.kind == "service":
                stored = LedgerStore(Database.in_dir(self.state_dir, migrations=MIGRATIONS)).events(
                    "prod", 0, 1 << 62, kinds=["service"]
                )
                durable = any(s.new == e.new and s.at_us == to_us(e.at) for s in stored)
                self.seen.append((e.old, e.new, durable))


def test_the_daemons_store_thread_on_a_frozen_disk(tmp_path):
    """Ledger, store thread and alert sink as the daemon wires them (monitor.service)."""
    cfg = config(tmp_path)
    db = FreezableDatabase(tmp_path / DB_NAME, migrations=MIGRATIONS)
    ledger = Ledger(cfg, lambda: db, close_database=False)
    alerts = AlertJournal(tmp_path)
    clock = Monotonic()
    worker = StoreWorker(ledger, [alerts], monotonic=clock, handoff_seconds=0.05)
    worker.start()
    health = ClusterHealth("prod", cfg.monitor, now())

    def round_(primary: bool) -> None:
        events = health.update(observe(primary))
        worker.on_round(health.status(), events, now())

    for _ in range(3):
        round_(True)
    assert worker.status().healthy
    db.thawed.clear()
    rounds = threading.Thread(
        target=lambda: [round_(i > 8) for i in range(14)], daemon=True
    )  # down, then up again, all while the disk is frozen
    rounds.start()
    rounds.join(30)
    assert not rounds.is_alive(), "a probe round waited for the frozen store"
    assert db.hanging.is_set()
    clock.t += 6
    status = worker.status()
    assert not status.healthy and "in progress for 6 s" in status.last_error
    assert status.pending_events > 0

    db.thawed.set()
    for _ in range(1000):
        if worker.busy_seconds() == 0 and ledger.pending_events == 0:
            break
        threading.Event().wait(0.01)
    assert worker.stop(10)
    assert ledger.healthy and worker.status().healthy
    assert alerts.seen == [("unknown", "up", True), ("up", "down", True), ("down", "up", True)]
