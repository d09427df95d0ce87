"""The monitor's clock: UTC datetimes that advance at the rate of the monotonic clock.

Every duration the monitor counts (an outage, a takeover grace, a heartbeat) is a difference
of two readings of one clock. Reading the wall clock for them makes a clock step part of
the SLA: ``date -s`` back one hour would pause the timeline for an hour, forward one hour
would put an hour into whatever state was in force. So the monitor keeps its own reading,
anchored to the wall clock once and advanced by ``time.monotonic``:

* the wall clock stepping **forward** re-anchors the reading forward. The jump is a gap
  between two rounds, which the ledger records as unknown time (never as down or up);
* the wall clock stepping **back** is not followed: the reading never runs backwards, so
  durations stay exact, and dates run ahead of the wall clock by the size of the step until
  the monitor restarts (the ledger then holds at its high-water mark, as it documents).

Each step is reported once to ``on_step`` (the daemon logs it, reschedules its rounds and
exports the offset), so an operator sees it whichever way it went.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    """The wall clock, for what must be a calendar date (a report, a CLI's "now")."""
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class ClockStep:
    """The wall clock moved by ``seconds`` (positive: forward) against the monotonic one."""

    seconds: float
    wall: dt.datetime  # the wall clock's reading just after the step
    followed: bool  # True: the monitor's reading jumped with it (forward steps)


class MonotonicClock:
    """A :data:`Clock` that never runs backwards and measures durations monotonically."""

    def __init__(
        self,
        *,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        tolerance_seconds: float = 1.0,
        on_step: Callable[[ClockStep], None] | None = None,
    ) -> None:
        self._wall = wall
        self._monotonic = monotonic
        self._tolerance = tolerance_seconds
        self.on_step = on_step
        self._lock = threading.Lock()
        self._anchor_wall = wall()
        self._anchor_mono = monotonic()
        self._behind = 0.0  # how far the wall clock is behind our reading (a step back)

    def __call__(self) -> dt.datetime:
        step = None
        with self._lock:
            mono, wall = self._read_both()
            reading = self._anchor_wall + (mono - self._anchor_mono)
            offset = wall - reading  # > 0: the wall clock is ahead of us
            if offset > self._tolerance:
                self._anchor_wall, self._anchor_mono = wall, mono
                step = ClockStep(offset + self._behind, _utc(wall), True)
                self._behind = 0.0
                reading = wall
            elif abs(offset + self._behind) > self._tolerance:
                # Back (or forward, but still behind us): our reading does not follow.
                step = ClockStep(offset + self._behind, _utc(wall), False)
                self._behind = max(0.0, -offset)
        if step is not None and self.on_step is not None:
            self.on_step(step)
        return _utc(reading)

    def _read_both(self) -> tuple[float, float]:
        """Both clocks at one instant. A thread that loses the CPU between the two reads (a
        loaded machine, a CPU quota, the GIL) would see the wall clock run ahead by the
        pause: a step that never happened. So the monotonic clock is read on both sides of
        the wall clock, and the pair retried while they lie too far apart."""
        for _ in range(5):
            before = self._monotonic()
            wall = self._wall()
            after = self._monotonic()
            if after - before < self._tolerance / 2:
                break
        return before, wall - (after - before) / 2

    @property
    def offset_seconds(self) -> float:
        """Wall clock minus this clock, as last seen (negative after a step back)."""
        return -self._behind


def _utc(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)
