"""A thread preempted between reading the monotonic and the wall clock (a loaded machine, a
CPU quota) must not read as a wall-clock step: it logged clock.stepped, re-anchored the
monitor's timeline forward (a gap of unknown time in the ledger) and kicked every cluster."""

from __future__ import annotations

from monitor.clock import ClockStep, MonotonicClock


class Machine:
    """One real time behind both clocks; ``stall_next_wall`` makes the next wall-clock read
    happen that many seconds after the call before it, as when the thread loses the CPU."""

    def __init__(self) -> None:
        self.real = 1_800_000_000.0
        self.stall = 0.0

    def monotonic(self) -> float:
        return self.real - 1_799_999_000.0

    def wall(self) -> float:
        self.real += self.stall
        self.stall = 0.0
        return self.real


def make() -> tuple[Machine, MonotonicClock, list[ClockStep]]:
    m = Machine()
    steps: list[ClockStep] = []
    return m, MonotonicClock(wall=m.wall, monotonic=m.monotonic, on_step=steps.append), steps


def test_losing_the_cpu_between_the_two_readings_is_not_a_step() -> None:
    m, clock, steps = make()
    m.real += 10
    before = clock()
    m.stall = 3.0
    after = clock()
    assert steps == []
    assert 0 <= (after - before).total_seconds() <= 3.0
    m.real += 1
    assert clock() > after and steps == []


def test_a_real_step_forward_is_still_followed() -> None:
    m, clock, steps = make()
    m.real += 10
    clock()
    m.real += 60  # the wall clock alone jumps: simulate by moving only the wall reading
    offset = 60.0
    clock._wall = lambda: m.wall() + offset  # noqa: SLF001
    clock()
    assert len(steps) == 1 and steps[0].followed and round(steps[0].seconds) == 60
