"""Delivery attempts end at their deadline, and one receiver's slow attempt never holds
another receiver: the deadline's cuts, ``Receiver.deliver`` leaving a hung send behind,
the per-receiver workers, and ``stop`` cutting what is in flight. Real threads with short
deadlines; every wait is on a condition."""

from __future__ import annotations

import random
import socket
import threading
import time
from collections.abc import Callable

from monitor.alerting.model import Notification
from monitor.alerting.outbox import PENDING, SENT, Outbox
from monitor.alerting.providers import PROVIDERS
from monitor.alerting.providers.base import (
    Delivery,
    ProviderSpec,
    ReceiverOptions,
    SendContext,
)
from monitor.alerting.providers.deadline import Deadline
from monitor.alerting.providers.outcome import HttpResponse
from monitor.alerting.sender import OutboxSender, Receiver, RetryPolicy
from monitor.config import parse_config
from monitor.errors import DeliveryError
from monitor.probes.base import utc_now
from tests.support.alerting import FakeSend, db_at, note


def wait_until(check: Callable[[], object], timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < end, f"timed out waiting for {check}"
        time.sleep(0.01)


class Hanging:
    """A send that hangs until the deadline cuts it, as a socket read does when the
    receiver trickles its answer; it registers its cut the way the HTTP client does."""

    def __init__(self) -> None:
        self.calls = 0
        self.started = threading.Event()
        self.cut = threading.Event()

    def __call__(self, options: ReceiverOptions, n: Notification, ctx: SendContext) -> Delivery:
        self.calls += 1
        assert ctx.deadline is not None
        cut = self.cut = threading.Event()  # this attempt's
        ctx.deadline.on_expiry(cut.set)
        self.started.set()
        cut.wait(60)
        return Delivery(False, None, "connection closed by the receiver")


def receiver(name: str, send, timeout: float = 10.0) -> Receiver:
    spec = ProviderSpec("fake", ReceiverOptions, lambda o, n, now: {}, send)
    return Receiver(name, spec, ReceiverOptions(timeout_seconds=timeout))


# --- the deadline --------------------------------------------------------------------------


def test_a_deadline_runs_its_cuts_once_when_it_expires():
    now = [100.0]
    deadline = Deadline(5, clock=lambda: now[0])
    cuts: list[str] = []
    deadline.on_expiry(lambda: cuts.append("a"))
    deadline.on_expiry(lambda: 1 / 0)  # a failing cut does not stop the others
    deadline.on_expiry(lambda: cuts.append("b"))
    now[0] = 103.0
    assert deadline.remaining() == 2.0 and not deadline.expired and not deadline.cut
    now[0] = 105.0
    assert deadline.expired and not deadline.cut and cuts == []  # expired, not yet cut
    deadline.expire()
    deadline.expire()
    assert cuts == ["a", "b"] and deadline.cut
    assert deadline.message == "deadline exceeded (5 s)"
    deadline.on_expiry(lambda: cuts.append("late"))  # registered after: cut at once
    assert cuts == ["a", "b", "late"]


def test_an_early_expiry_says_why():
    deadline = Deadline(10)
    deadline.expire("the monitor is stopping")
    assert deadline.cut and deadline.message == "the monitor is stopping"


# --- one attempt ---------------------------------------------------------------------------


def test_an_attempt_that_hangs_ends_at_its_deadline_and_is_cut():
    hang = Hanging()
    r = receiver("slow", hang, timeout=0.3)
    started = time.monotonic()
    result = r.deliver(note(receiver="slow"), utc_now(), http=None)
    took = time.monotonic() - started
    assert (result.ok, result.error) == (False, "deadline exceeded (0.3 s)")
    assert hang.cut.is_set()  # the send's sockets were shut, so it does not linger
    assert 0.3 <= took < 2.0


def test_an_attempt_that_cannot_be_cut_is_left_behind():
    release = threading.Event()

    def stuck(options, n, ctx):  # a hung DNS lookup: nothing to cut
        release.wait(60)
        return Delivery(True, 200)

    started = time.monotonic()
    result = receiver("dns", stuck, timeout=0.2).deliver(note(), utc_now(), http=None)
    assert result.error == "deadline exceeded (0.2 s)"
    assert time.monotonic() - started < 2.0
    release.set()


def test_an_attempt_within_its_deadline_keeps_its_outcome():
    r = receiver("ok", FakeSend([Delivery(False, 503, "HTTP 503", retry_after=7)]))
    assert r.deliver(note(), utc_now(), http=None) == Delivery(False, 503, "HTTP 503", 7)

    def broken(options, n, ctx):
        raise KeyError("bug")

    assert receiver("bug", broken).deliver(note(), utc_now(), None).error == (
        "internal error (KeyError)"
    )


# --- the workers ---------------------------------------------------------------------------


def sender(tmp_path, *receivers, on_change=lambda: None) -> tuple[Outbox, OutboxSender]:
    box = Outbox(db_at(tmp_path))
    s = OutboxSender(
        box,
        list(receivers),
        RetryPolicy(0.2, 0.4),
        clock=utc_now,
        rng=random.Random(3),
        on_change=on_change,
    )
    return box, s


def test_a_hanging_receiver_never_holds_another_and_the_figures_stay_true(tmp_path):
    hang, fast = Hanging(), FakeSend()
    figures: list[dict] = []
    box, s = sender(
        tmp_path,
        receiver("slow", hang, timeout=2.0),
        receiver("fast", fast),
        on_change=lambda: figures.append(dict(box.queues())),
    )
    s.start()
    try:
        box.enqueue(note("a", receiver="slow"), utc_now())
        box.enqueue(note("a", receiver="fast"), utc_now())
        s.wake()
        wait_until(hang.started.is_set)
        for group in ("b", "c"):  # due while the slow attempt is in flight
            box.enqueue(note(group, receiver="fast"), utc_now())
            s.wake()
        # counted once each send has returned: wait for the count, not only the arrivals
        wait_until(lambda: len(fast.got) == 3 and s.stats()["fast"].sent == 3)
        assert not hang.cut.is_set()  # all three arrived while "slow" was still hanging
        assert s.stats()["slow"].failed == 0
        wait_until(lambda: figures and figures[-1]["fast"].depth == 0)
        assert figures[-1]["slow"].depth == 1  # reported during the attempt, not after it
        wait_until(lambda: hang.calls >= 2)  # cut at its deadline, then retried
        (item,) = box.items(PENDING)
        assert (item.receiver, item.last_error) == ("slow", "deadline exceeded (2 s)")
        assert item.attempts >= 1 and s.stats()["slow"].failed >= 1
    finally:
        s.stop(timeout=0.2)


def test_stop_lets_an_attempt_in_flight_end_then_cuts_it(tmp_path):
    hang, quick = Hanging(), threading.Event()

    def slowish(options, n, ctx):  # a healthy receiver, answering as stop begins
        quick.set()
        time.sleep(0.3)
        return Delivery(True, 200)

    box, s = sender(tmp_path, receiver("slow", hang, timeout=60), receiver("ok", slowish))
    s.start()
    box.enqueue(note(receiver="slow"), utc_now())
    box.enqueue(note(receiver="ok"), utc_now())
    s.wake()
    wait_until(lambda: hang.started.is_set() and quick.is_set())
    started = time.monotonic()
    s.stop(timeout=1.0)
    assert 1.0 <= time.monotonic() - started < 3.0
    rows = {i.receiver: i for i in box.items()}
    assert rows["ok"].attempts == 1 and rows["ok"] in box.items(SENT)  # it had time
    assert rows["slow"].last_error == "the monitor is stopping"  # cut, still queued
    assert rows["slow"] in box.items(PENDING)


def test_a_watched_connection_is_cut_through_its_duplicate_and_released(tmp_path):
    a, b = socket.socketpair()
    deadline = Deadline(10)
    twin = deadline.watch(a)
    wrapped = socket.socket(fileno=a.detach())  # what a TLS wrap does to the object
    deadline.expire()
    assert b.recv(1) == b""  # the peer sees the connection end
    deadline.release(twin)
    assert twin.fileno() == -1 and wrapped.fileno() != -1  # only the duplicate closed
    late = deadline.watch(wrapped)  # watched after the expiry: cut at once
    deadline.release(late)
    for s in (wrapped, b):
        s.close()


def test_a_child_deadline_ends_with_its_parent_or_alone():
    parent = Deadline(10)
    first, second = parent.child(), parent.child()
    first.expire()
    assert first.cut and not second.cut and not parent.cut
    parent.expire()
    assert second.cut and second.message == "deadline exceeded (10 s)"


class MemberHttp:
    """Alertmanager members: the one at ``slow`` hangs until its deadline cuts it."""

    def __init__(self, slow: str) -> None:
        self.slow = slow

    def post(self, url, body, headers, deadline):
        if self.slow in url:
            cut = threading.Event()
            deadline.on_expiry(cut.set)
            cut.wait(60)
            raise DeliveryError(deadline.message)
        return HttpResponse(200, {}, "")


def test_a_hanging_alertmanager_member_does_not_cost_the_other_its_delivery():
    opts = (
        parse_config(
            '[[clusters]]\nname = "prod"\n[[receivers]]\nname = "am"\ntype = "alertmanager"\n'
            'urls = ["http://am1:9093", "http://am2:9093"]\ntimeout_seconds = 1\n'
        )
        .receivers[0]
        .settings
    )
    r = Receiver("am", PROVIDERS["alertmanager"], opts)
    started = time.monotonic()
    result = r.deliver(note(), utc_now(), MemberHttp(slow="am1"))
    assert result.ok and result.note == "urls[0]: deadline exceeded (1 s)"
    assert time.monotonic() - started < 1.5  # answered before the deadline, not after
