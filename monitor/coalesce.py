"""At most one run of an action per period, however often it is asked for, and never one
ask lost: the snapshot's publication after each round (and the exposition's render after
each publication) at fleet size.

At 1,000 clusters the daemon finishes ~200 lane rounds a second; rebuilding the snapshot
(and rendering ``/metrics`` from it) after each one made every round cost the whole fleet,
and the rounds quadratic in clusters. Coalesced, a change is still out within ``period``
(plus the action's own time), and the action reads the state when it runs, so the last
state always wins: an ask that comes while the action runs is served by the next run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import structlog

log = structlog.get_logger("slurm_sla_monitor")


class Coalescer:
    """The timing, without threads or a clock of its own (tests drive it with a fake
    time): ``ask`` when something changed, ``wait_seconds`` says how long until a run is
    due (None: nothing asked), ``take`` starts a run when one is due."""

    def __init__(self, period: float) -> None:
        self.period = period
        self._asked = False
        self._last_run: float | None = None

    @property
    def asked(self) -> bool:
        return self._asked

    def ask(self) -> None:
        self._asked = True

    def wait_seconds(self, now: float) -> float | None:
        if not self._asked:
            return None
        if self._last_run is None:
            return 0.0
        return max(0.0, self._last_run + self.period - now)

    def take(self, now: float) -> bool:
        """True when a run is due: the caller runs the action now. An ask from here on is
        for the next run (the one starting reads the state as it is when it reads it)."""
        if self.wait_seconds(now) != 0.0:
            return False
        self._asked, self._last_run = False, now
        return True


class CoalescedAction:
    """Runs ``action`` on its own thread for the asks of :class:`Coalescer`. ``ask``
    never blocks the caller (a round) on the action."""

    def __init__(
        self,
        action: Callable[[], object],
        period: float,
        *,
        name: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._action = action
        self._coalescer = Coalescer(period)
        self._clock = clock
        self._name = name
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None

    @property
    def period(self) -> float:
        return self._coalescer.period

    @period.setter
    def period(self, seconds: float) -> None:
        with self._cond:
            self._coalescer.period = seconds

    def start(self) -> None:
        with self._cond:
            self._stopping = False
        self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
        self._thread.start()

    def ask(self) -> None:
        with self._cond:
            self._coalescer.ask()
            self._cond.notify()

    def stop(self) -> None:
        """Stop the thread; an ask it had not served yet is served here, so none is lost."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        with self._cond:
            pending = self._coalescer.take(float("inf"))
        if pending:
            self._run()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._stopping:
                        return
                    wait = self._coalescer.wait_seconds(self._clock())
                    if wait == 0.0 and self._coalescer.take(self._clock()):
                        break
                    self._cond.wait(wait)  # None: until asked
            self._run()

    def _run(self) -> None:
        try:
            self._action()
        except Exception:  # noqa: BLE001 - the next ask must still be served
            log.exception("coalesced.action_failed", action=self._name)
