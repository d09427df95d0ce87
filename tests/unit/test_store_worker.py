"""The store thread in front of the ledger and the alert engine: a write that hangs never
blocks a probe round, the store is reported unhealthy once it has hung a few seconds, and
every transition reaches the ledger and then the alert engine, in order, when it returns.

A fake ledger whose write blocks until released, and a fake monotonic clock for the stall."""

from __future__ import annotations

import datetime as dt
import threading

from monitor.observation import Condition, State
from monitor.snapshot import ClusterStatus, ServiceStatus
from monitor.storeworker import StoreWorker

T0 = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


def status(cluster: str, up: bool = True) -> ClusterStatus:
    state = State.UP if up else State.DOWN
    svc = ServiceStatus("slurmctld", state, T0, "", True, None, Condition.OK)
    return ClusterStatus(cluster, T0, None, (), {"slurmctld": svc}, {}, 0, {})


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class FakeLedger:
    """Records rounds in memory; ``write`` blocks while ``frozen``, like a frozen disk."""

    def __init__(self, journal: list) -> None:
        self.journal = journal
        self.recorded: list[tuple[str, tuple]] = []
        self.written: list[tuple[str, tuple]] = []
        self.thawed = threading.Event()
        self.thawed.set()
        self.writing = threading.Event()
        self.last_error: str | None = None
        self.lost_events = 0

    @property
    def healthy(self) -> bool:
        return self.pending_events == 0

    @property
    def pending_events(self) -> int:
        return sum(len(e) for _, e in self.recorded[len(self.written) :])

    def record(self, status, events, now) -> bool:
        self.recorded.append((status.name, tuple(events)))
        return bool(events) or any(s.up is not True for s in status.services.values())

    def write(self, force: bool = True) -> bool:
        self.writing.set()
        self.thawed.wait()
        self.written = list(self.recorded)
        self.journal.append(("ledger", len(self.written)))
        return True

    def problems(self) -> list[str]:
        return [] if self.healthy else [f"state store: {self.pending_events} waiting"]


class AlertSink:
    def __init__(self, journal: list, ledger: FakeLedger) -> None:
        self.journal, self.ledger = journal, ledger
        self.seen: list[tuple[str, tuple]] = []
        self.acted_before_written: list[tuple[str, tuple]] = []

    def on_round(self, status, events, now) -> None:
        entry = (status.name, tuple(events))
        if events and entry not in self.ledger.written:
            self.acted_before_written.append(entry)
        self.seen.append(entry)
        self.journal.append(("alert", *entry))


def in_thread(action) -> threading.Thread:
    """Run a round; the caller checks it finished (a hang fails the test, not the run)."""
    thread = threading.Thread(target=action, daemon=True)
    thread.start()
    return thread


def wait(check, what: str) -> None:
    done = threading.Event()
    for _ in range(500):
        if check():
            return
        done.wait(0.01)
    raise AssertionError(f"never happened: {what}")


def worker(journal, **kw):
    ledger = FakeLedger(journal)
    alerts = AlertSink(journal, ledger)
    w = StoreWorker(ledger, [alerts], **kw)
    w.start()
    return w, ledger, alerts


def test_a_transition_is_written_before_the_alert_engine_sees_it():
    journal: list = []
    w, ledger, alerts = worker(journal)
    w.on_round(status("a"), ["down"], T0)  # returns once the round's write is done
    assert journal[:2] == [("ledger", 1), ("alert", "a", ("down",))]
    assert w.status().healthy and w.problems() == []
    assert w.stop(5)


def test_a_hung_write_never_blocks_rounds_and_shows_at_once_after_the_stall_limit():
    journal: list = []
    clock = Clock()
    w, ledger, alerts = worker(journal, monotonic=clock, handoff_seconds=0.05, stall_seconds=5)
    ledger.thawed.clear()  # the disk freezes
    w.on_round(status("a"), [], T0)
    wait(ledger.writing.is_set, "the store thread is inside the write")
    clock.t += 4
    assert w.status().healthy  # a slow commit is not yet a problem
    clock.t += 2  # six seconds into the write
    st = w.status()
    assert not st.healthy and "in progress for 6 s" in (st.last_error or "")
    assert any("probing continues" in p for p in w.problems())

    # rounds keep coming, with and without transitions, and none of them waits
    rounds = in_thread(lambda: [
        w.on_round(status(name, up=i % 7 != 3), [f"{name}{i}"] if i % 7 == 3 else [], T0)
        for i in range(200) for name in ("a", "b")
    ])  # fmt: skip
    rounds.join(10)
    assert not rounds.is_alive(), "a probe round waited for the frozen store"
    assert len(ledger.recorded) == 401  # every round recorded in memory
    # queued behind the write, a cluster's event-less rounds collapse into its latest one:
    # per cluster 29 rounds with a transition, 28 after them and 1 first are kept
    assert w.collapsed_rounds == 2 * (200 - 58)
    assert not w.status().healthy

    ledger.thawed.set()  # the disk thaws
    wait(lambda: not w.busy_seconds() and ledger.written == ledger.recorded, "written")
    wait(lambda: len(alerts.seen) == 1 + 2 * 58, "alerts caught up")
    # every transition reached the alert engine, in order, after the ledger wrote it
    transitions = [e for _, events in alerts.seen for e in events]
    expected = [f"{n}{i}" for i in range(200) for n in ("a", "b") if i % 7 == 3]
    assert transitions == expected
    assert alerts.acted_before_written == []
    assert w.status().healthy and w.problems() == []
    assert w.stop(5)


def test_a_stop_that_the_store_cannot_finish_says_so_and_returns():
    journal: list = []
    w, ledger, _ = worker(journal, handoff_seconds=0.01)
    ledger.thawed.clear()
    w.on_round(status("a", up=False), ["down"], T0)
    wait(ledger.writing.is_set, "the write started")
    assert w.stop(0.1) is False  # the caller then skips closing the hung store
    ledger.thawed.set()


def test_past_the_queue_bound_transitions_merge_into_their_clusters_latest_round():
    journal: list = []
    w, ledger, alerts = worker(journal, handoff_seconds=0.01, max_queued=3)
    ledger.thawed.clear()
    w.on_round(status("x"), [], T0)
    wait(ledger.writing.is_set, "the write started")
    for i in range(10):
        w.on_round(status("a", up=False), [f"a{i}"], T0)
    w.call_soon(lambda: journal.append(("reloaded",)))  # e.g. the alert engine's reload
    w.on_round(status("a", up=False), ["after-reload"], T0)
    ledger.thawed.set()
    wait(lambda: any("after-reload" in events for _, events in alerts.seen), "caught up")
    transitions = [e for _, events in alerts.seen for e in events]
    assert transitions == [f"a{i}" for i in range(10)] + ["after-reload"]
    assert len(alerts.seen) == 1 + 3  # x, then three slots: the queue stayed bounded
    last = next(i for i, j in enumerate(journal) if j[0] == "alert" and "after-reload" in j[2])
    assert journal.index(("reloaded",)) < last  # the reload came before the later rounds
    assert w.stop(5)
