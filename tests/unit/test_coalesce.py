"""Coalesced publication: at most one run per period, every ask served within the period,
and the last state always wins (monitor.coalesce)."""

from __future__ import annotations

import threading

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.coalesce import CoalescedAction, Coalescer

PERIOD = 0.25


def drive(asks: list[float], period: float = PERIOD) -> tuple[list[tuple[float, int]], int]:
    """Run the coalescer as CoalescedAction's loop does, on a fake time line: the state
    becomes i at the i-th ask; the loop wakes at each ask and when a run falls due.
    Returns the runs (time, state read) and the final state."""
    c = Coalescer(period)
    runs: list[tuple[float, int]] = []
    state = 0
    pending = sorted(asks)
    now = 0.0
    while pending or c.asked:
        wait = c.wait_seconds(now)
        next_ask = pending[0] if pending else None
        if wait is not None and (next_ask is None or now + wait <= next_ask):
            now += wait
            assert c.take(now)
            runs.append((now, state))  # the action reads the state when it runs
            continue
        assert next_ask is not None
        now = max(now, pending.pop(0))
        state += 1
        c.ask()
    return runs, state


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=5, allow_nan=False), max_size=60))
def test_every_ask_is_served_within_the_period_and_the_last_state_wins(asks):
    runs, final = drive(asks)
    times = sorted(asks)
    for i, at in enumerate(times, start=1):
        # some run at or after the ask, within the period, saw this state or a later one
        served = [t for t, seen in runs if at <= t <= at + PERIOD and seen >= i]
        assert served, (at, runs)
    if times:
        assert runs[-1][1] == final
    for (a, _), (b, _) in zip(runs, runs[1:], strict=False):
        assert b - a >= PERIOD - 1e-9  # at most one run per period


def test_a_burst_of_asks_costs_one_run_per_period():
    asks = [i * 0.001 for i in range(1000)]  # 1,000 rounds in a second
    runs, final = drive(asks)
    assert len(runs) <= 1 + 1 / PERIOD + 1
    assert runs[-1][1] == final


def test_an_ask_after_a_quiet_spell_runs_at_once():
    c = Coalescer(PERIOD)
    c.ask()
    assert c.take(10.0)
    assert c.wait_seconds(20.0) is None  # nothing asked: nothing to run
    c.ask()
    assert c.wait_seconds(20.0) == 0.0
    c.ask()
    assert c.take(20.0)
    c.ask()  # within the period of the last run: waits for the rest of it
    assert not c.take(20.1)
    assert abs(c.wait_seconds(20.1) - (PERIOD - 0.1)) < 1e-9


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_thread_serves_an_ask_and_the_last_state_wins():
    clock = FakeClock()  # frozen: after the first run every ask waits for stop()
    state = {"value": 0}
    seen: list[int] = []
    first = threading.Event()

    def publish() -> None:
        seen.append(state["value"])
        first.set()

    action = CoalescedAction(publish, PERIOD, name="test-publisher", clock=clock)
    action.start()
    try:
        state["value"] = 1
        action.ask()
        assert first.wait(10)
        for v in range(2, 50):
            state["value"] = v
            action.ask()
    finally:
        action.stop()  # serves the ask the period still held back
    assert seen[0] == 1
    assert seen[-1] == 49
    assert len(seen) == 2  # the frozen clock never let the period pass


def test_the_thread_runs_again_once_the_period_has_passed():
    clock = FakeClock()
    runs = threading.Semaphore(0)
    seen: list[float] = []

    def publish() -> None:
        seen.append(clock.now)
        runs.release()

    action = CoalescedAction(publish, PERIOD, name="test-publisher", clock=clock)
    action.start()
    try:
        action.ask()
        assert runs.acquire(timeout=10)
        action.ask()
        clock.now = PERIOD  # the period has passed: the next wake-up runs it
        action.ask()
        assert runs.acquire(timeout=10)
    finally:
        action.stop()
    assert seen == [0.0, PERIOD]


def test_a_failing_action_does_not_stop_the_thread():
    calls = threading.Semaphore(0)
    clock = FakeClock()
    outcomes = iter([RuntimeError("boom"), None])

    def publish() -> None:
        calls.release()
        failure = next(outcomes)
        if failure:
            raise failure

    action = CoalescedAction(publish, PERIOD, name="test-publisher", clock=clock)
    action.start()
    try:
        action.ask()
        assert calls.acquire(timeout=10)
        clock.now = 1.0
        action.ask()
        assert calls.acquire(timeout=10)
    finally:
        action.stop()
