"""The durable outbox and its sender: committed before sending, backoff with jitter,
Retry-After, 429, rate limit (queued, never dropped), dead letters, order per group, and
delivery after a restart. Time is frozen; receivers are scripted fakes."""

from __future__ import annotations

import datetime as dt
import random

from freezegun import freeze_time

from monitor.alerting.outbox import DEAD, PENDING, SENT, Outbox
from monitor.alerting.providers.base import Delivery
from monitor.alerting.sender import OutboxSender, RateLimiter, RetryPolicy
from monitor.probes.base import utc_now
from tests.support.alerting import T0, FakeSend, db_at, fake_receiver, note

FAIL = Delivery(False, 500, "HTTP 500")


def sender(outbox, *receivers, **kw) -> OutboxSender:
    return OutboxSender(
        outbox,
        list(receivers),
        kw.pop("policy", RetryPolicy(2, 60, 3600)),
        clock=utc_now,
        rng=random.Random(7),
        **kw,
    )


def tick(frozen, seconds: float) -> None:
    frozen.tick(dt.timedelta(seconds=seconds))


def test_exponential_backoff_with_jitter_until_delivered(tmp_path):
    with freeze_time(T0) as frozen:
        box = Outbox(db_at(tmp_path))
        send = FakeSend([FAIL, FAIL, FAIL])
        s = sender(box, fake_receiver("r", send))
        box.enqueue(note(), T0)
        delays = []
        for _ in range(3):
            assert s.run_once() == 1
            (item,) = box.items(PENDING)
            delays.append((item.next_attempt_at - dt.datetime.now(dt.UTC)).total_seconds())
            assert s.run_once() == 0  # not due yet
            frozen.move_to(item.next_attempt_at)
        assert 1 <= delays[0] <= 2 and 2 <= delays[1] <= 4 and 4 <= delays[2] <= 8
        assert s.run_once() == 1
        assert [i.attempts for i in box.items(SENT)] == [4]
        assert s.stats()["r"].sent == 1 and s.stats()["r"].failed == 3


def test_backoff_is_capped():
    policy = RetryPolicy(2, 60, 3600)
    rng = random.Random(1)
    assert all(30 <= policy.delay(n, rng) <= 60 for n in range(6, 30))


def test_retry_after_is_honoured_and_capped(tmp_path):
    with freeze_time(T0):
        box = Outbox(db_at(tmp_path))
        send = FakeSend([Delivery(False, 503, "HTTP 503", retry_after=45)])
        s = sender(box, fake_receiver("r", send))
        box.enqueue(note(), T0)
        s.run_once()
        (item,) = box.items(PENDING)
        assert item.next_attempt_at == T0 + dt.timedelta(seconds=45)
    assert RetryPolicy(2, 60, 600).delay(1, random.Random(), retry_after=86400) == 600


def test_429_pauses_the_whole_receiver_but_not_the_others(tmp_path):
    with freeze_time(T0) as frozen:
        box = Outbox(db_at(tmp_path))
        slow = FakeSend([Delivery(False, 429, "HTTP 429", retry_after=30, throttled=True)])
        other = FakeSend()
        s = sender(box, fake_receiver("r", slow), fake_receiver("o", other))
        for group in ("a", "b", "c"):
            box.enqueue(note(group), T0)
        box.enqueue(note("a", receiver="o"), T0)
        s.run_once()
        assert len(slow.got) == 1 and len(other.got) == 1  # stopped after the 429
        tick(frozen, 29)
        s.run_once()
        assert len(slow.got) == 1
        tick(frozen, 1)
        s.run_once()
        assert len(slow.got) == 4
        assert not box.items(PENDING)


def test_rate_limit_queues_and_never_drops(tmp_path):
    with freeze_time(T0) as frozen:
        box = Outbox(db_at(tmp_path))
        send = FakeSend()
        s = sender(box, fake_receiver("r", send, max_per_minute=2))
        for i in range(6):
            box.enqueue(note(f"c{i}"), T0)
        s.run_once()
        assert len(send.got) == 2 and len(box.items(PENDING)) == 4
        sent_at = []
        for _ in range(40):
            tick(frozen, 5)
            before = len(send.got)
            s.run_once()
            sent_at += [dt.datetime.now(dt.UTC)] * (len(send.got) - before)
        assert len(send.got) == 6 and not box.items(PENDING)
        gaps = [(b - a).total_seconds() for a, b in zip(sent_at, sent_at[1:], strict=False)]
        assert all(g >= 30 for g in gaps)  # 2 a minute after the burst


def test_rate_limiter_refills():
    limiter = RateLimiter(60, T0)
    assert all(limiter.take(T0) for _ in range(60))
    assert not limiter.take(T0)
    assert limiter.ready_at(T0) == T0 + dt.timedelta(seconds=1)
    assert limiter.take(T0 + dt.timedelta(seconds=1))


def test_resolved_never_overtakes_its_firing_notice(tmp_path):
    with freeze_time(T0) as frozen:
        box = Outbox(db_at(tmp_path))
        send = FakeSend([FAIL, FAIL])
        s = sender(box, fake_receiver("r", send))
        box.enqueue(note(), T0)
        box.enqueue(note(status="resolved"), T0)
        for _ in range(10):
            s.run_once()
            tick(frozen, 10)
        assert [n.status for _, n in send.got] == ["firing", "firing", "firing", "resolved"]


def test_dead_letter_after_the_configured_age(tmp_path):
    with freeze_time(T0) as frozen:
        box = Outbox(db_at(tmp_path))
        send = FakeSend([FAIL] * 1000)
        s = sender(box, fake_receiver("r", send), dead_letter_after_seconds=600)
        box.enqueue(note(), T0)
        box.enqueue(note(status="resolved"), T0 + dt.timedelta(seconds=300))
        for _ in range(70):
            s.run_once()
            tick(frozen, 10)
        dead = box.items(DEAD)
        assert [i.status for i in dead] == ["firing"]
        assert dead[0].attempts > 3 and dead[0].last_error == "HTTP 500"
        assert s.stats()["r"].dead == 1
        assert box.queues()["r"].dead == 1 and box.queues()["r"].depth == 1
        # the resolved notice behind it was tried once the firing one was given up
        assert [n.status for _, n in send.got][-1] == "resolved"


def test_queued_notifications_survive_a_restart(tmp_path):
    with freeze_time(T0):
        db = db_at(tmp_path)
        Outbox(db).enqueue(note(), T0)  # committed; then the monitor is killed
        db.close()
        box = Outbox(db_at(tmp_path))
        send = FakeSend()
        sender(box, fake_receiver("r", send)).run_once()
        assert [n.status for _, n in send.got] == ["firing"]
        assert not box.items(PENDING)


def test_a_receiver_removed_from_the_config_keeps_its_rows_until_they_expire(tmp_path):
    with freeze_time(T0) as frozen:
        box = Outbox(db_at(tmp_path))
        s = sender(box, dead_letter_after_seconds=3600)
        box.enqueue(note(receiver="gone"), T0)
        s.run_once()
        assert box.items(PENDING)[0].last_error == "receiver no longer configured"
        tick(frozen, 3601)
        s.run_once()
        assert len(box.items(DEAD)) == 1


def test_sent_rows_are_pruned_after_keep_sent(tmp_path):
    with freeze_time(T0) as frozen:
        box = Outbox(db_at(tmp_path))
        s = sender(box, fake_receiver("r", FakeSend()), keep_sent_seconds=60)
        box.enqueue(note(), T0)
        s.run_once()
        assert len(box.items(SENT)) == 1
        tick(frozen, 3700)
        s.run_once()
        assert box.items() == []


def test_the_thread_delivers_when_woken_and_stops_cleanly(tmp_path):
    box = Outbox(db_at(tmp_path))
    send = FakeSend()
    s = sender(box, fake_receiver("r", send))
    s.start()
    try:
        box.enqueue(note(), utc_now())
        s.wake()
        deadline = dt.datetime.now() + dt.timedelta(seconds=5)
        while not send.got and dt.datetime.now() < deadline:
            import time

            time.sleep(0.02)
        assert len(send.got) == 1
    finally:
        s.stop()
