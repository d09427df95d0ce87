"""Alerting when the state store opens late: the daemon probes without it, retries at its
pace (not every round), and starts it (sender thread included) once the store opens."""

from __future__ import annotations

import datetime as dt

from monitor.alerting.status import AlertingStatus, ReceiverStatus
from monitor.alertslot import AlertingSlot
from monitor.errors import StoreError

T0 = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


class FakeAlerting:
    def __init__(self) -> None:
        self.rounds: list[str] = []
        self.started = self.stopped = False

    def on_round(self, status, events, now):
        self.rounds.append(status)
        return ["queued"]

    def start(self) -> None:
        self.started = True

    def stop(self, timeout: float = 10.0) -> None:
        self.stopped = True

    def status(self) -> AlertingStatus:
        return AlertingStatus(T0, receivers={"oncall": ReceiverStatus(sent_total=1)})


class Store:
    def __init__(self) -> None:
        self.broken = True
        self.attempts = 0
        self.built: list[FakeAlerting] = []

    def build(self) -> FakeAlerting:
        self.attempts += 1
        if self.broken:
            raise StoreError("/var/lib/x/slurm-sla-monitor.sqlite3: cannot open the state store")
        self.built.append(FakeAlerting())
        return self.built[-1]


def test_alerting_starts_once_the_store_opens_and_retries_at_its_pace():
    store, t = Store(), [0.0]
    slot = AlertingSlot(store.build, retry_seconds=10, clock=lambda: T0, monotonic=lambda: t[0])
    slot.start()
    assert slot.alerting is None and store.attempts == 1
    assert slot.status() == AlertingStatus(T0)  # no alert metrics, not a crash
    for _ in range(50):
        t[0] += 0.1
        assert slot.on_round("round", (), T0) == []
    assert store.attempts == 1  # five seconds of rounds, no retry yet
    store.broken = False
    t[0] += 6
    assert slot.on_round("round", (), T0) == ["queued"]
    (alerting,) = store.built
    assert alerting.started and alerting.rounds == ["round"]
    assert slot.status().receivers["oncall"].sent_total == 1
    slot.stop()
    assert alerting.stopped
