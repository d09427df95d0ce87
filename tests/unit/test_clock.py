"""The monitor's clock through wall-clock steps (a fake wall and monotonic clock)."""

from __future__ import annotations

import datetime as dt

from monitor.clock import ClockStep, MonotonicClock


class Clocks:
    def __init__(self) -> None:
        self.wall = 1_800_000_000.0
        self.mono = 100.0

    def tick(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds


def make() -> tuple[Clocks, MonotonicClock, list[ClockStep]]:
    c = Clocks()
    steps: list[ClockStep] = []
    clock = MonotonicClock(wall=lambda: c.wall, monotonic=lambda: c.mono, on_step=steps.append)
    return c, clock, steps


def ts(clock: MonotonicClock) -> float:
    return clock().timestamp()


def test_follows_the_wall_clock_without_steps() -> None:
    c, clock, steps = make()
    t0 = ts(clock)
    assert t0 == c.wall
    c.tick(10.5)
    assert ts(clock) - t0 == 10.5
    assert clock().tzinfo is dt.UTC
    assert steps == []


def test_a_step_back_is_reported_once_and_never_runs_backwards() -> None:
    c, clock, steps = make()
    t0 = ts(clock)
    c.wall -= 3600
    c.tick(2)
    t1 = ts(clock)
    assert t1 - t0 == 2  # the duration is the monotonic one
    assert [s.seconds for s in steps] == [-3600]
    assert steps[0].followed is False
    assert clock.offset_seconds == -3600
    c.tick(5)
    assert ts(clock) - t1 == 5
    assert len(steps) == 1  # still behind by the same amount: not a new step


def test_a_step_forward_is_followed_and_reported() -> None:
    c, clock, steps = make()
    ts(clock)
    c.wall += 3600
    c.tick(1)
    assert ts(clock) == c.wall
    assert [(s.seconds, s.followed) for s in steps] == [(3600, True)]


def test_back_then_forward_again_reports_both_and_catches_up() -> None:
    c, clock, steps = make()
    t0 = ts(clock)
    c.wall -= 120
    c.tick(1)
    ts(clock)
    c.wall += 120
    c.tick(1)
    t2 = ts(clock)
    assert t2 - t0 == 2  # nothing gained or lost across the pair of steps
    assert [round(s.seconds) for s in steps] == [-120, 120]
    assert clock.offset_seconds == 0


def test_small_jitter_is_not_a_step() -> None:
    c, clock, steps = make()
    ts(clock)
    c.wall += 0.4
    c.tick(1)
    ts(clock)
    c.wall -= 0.8
    ts(clock)
    assert steps == []
