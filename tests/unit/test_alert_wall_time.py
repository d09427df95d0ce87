"""Notifications carry wall-clock times. After a wall-clock step back the monitor's own
times run ahead of the wall clock by the step; sent as they are, a resolved alert's endsAt
lay an hour in Alertmanager's future, and Alertmanager keeps an alert active until then."""

from __future__ import annotations

import random

from monitor.alerting.outbox import Outbox
from monitor.alerting.sender import OutboxSender, RetryPolicy
from monitor.clock import MonotonicClock
from tests.support.alerting import T0, FakeSend, db_at, fake_receiver, note


class Clocks:
    def __init__(self) -> None:
        self.wall, self.mono = T0.timestamp(), 1000.0


def test_a_notification_is_sent_with_wall_clock_times_after_a_step_back(tmp_path):
    c = Clocks()
    clock = MonotonicClock(wall=lambda: c.wall, monotonic=lambda: c.mono)
    box = Outbox(db_at(tmp_path))
    send = FakeSend()
    sender = OutboxSender(
        box, [fake_receiver("r", send)], RetryPolicy(2, 60, 3600),
        clock=clock, rng=random.Random(7),
    )  # fmt: skip
    resolved = note(status="resolved")  # dated T0 by the monitor's clock
    box.enqueue(resolved, clock())
    # a second later NTP steps the wall clock back an hour; the monitor's clock does not
    c.wall += 1 - 3600
    c.mono += 1
    assert clock.offset_seconds == 0  # not seen until the clock is read
    assert sender.run_once() == 1
    ((sent_at, sent),) = send.got
    (alert,) = sent.alerts
    assert (resolved.alerts[0].ends_at - alert.ends_at).total_seconds() == 3600
    assert (resolved.alerts[0].starts_at - alert.starts_at).total_seconds() == 3600
    assert abs(sent_at.timestamp() - c.wall) < 1  # "now" for the provider: the wall clock


def test_without_a_step_the_times_are_sent_as_recorded(tmp_path):
    c = Clocks()
    clock = MonotonicClock(wall=lambda: c.wall, monotonic=lambda: c.mono)
    box = Outbox(db_at(tmp_path))
    send = FakeSend()
    sender = OutboxSender(
        box, [fake_receiver("r", send)], RetryPolicy(2, 60, 3600),
        clock=clock, rng=random.Random(7),
    )  # fmt: skip
    box.enqueue(note(status="resolved"), clock())
    assert sender.run_once() == 1
    assert send.got[0][1] == note(status="resolved")
