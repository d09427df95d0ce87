"""The daemon's round sink in front of the state store: probing never waits for a disk.

On the round thread each round is recorded in the ledger's memory (cheap, never touches
the store) and handed to one store thread, which writes the ledger and then runs the
sinks that use the store (the alert engine), round after round in order. A transition is
thus written to the ledger before the alert engine acts on it, as long as the store takes
writes. A round whose write is due at once (a transition, a service not up: see
``Ledger.record``) waits for it a bounded time (``handoff_seconds``), so what the snapshot
published after it shows is already durable; a healthy heartbeat-only round never waits.

When a write hangs (a frozen file system), the rounds go on: they keep being recorded in
memory, in order, and while the store thread is stuck the event-less rounds of a cluster
queued behind it collapse into the latest one (what the alert engine needs is the current
state; the transitions are all kept, and past ``max_queued`` rounds merged into the latest
round of their cluster). A condition seen only in a collapsed round (a slow or overloaded
controller) then reaches no alert: the store's own alert, on ``slurm_sla_store_healthy``,
is what pages while the disk is frozen. ``status``/``problems`` report the store unhealthy
once a batch has been in progress longer than ``stall_seconds``, so ``/healthz`` and
``slurm_sla_store_healthy`` show a frozen disk while probing carries on.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import structlog

from monitor.health import HealthEvent
from monitor.snapshot import ClusterStatus, StoreStatus

log = structlog.get_logger("slurm_sla_monitor")

STALL_SECONDS = 5.0  # a healthy commit takes milliseconds; a busy disk, a second or two
HANDOFF_SECONDS = 2.0
MAX_QUEUED = 10_000  # past this, a cluster's rounds with transitions merge too (memory)


class RoundSink(Protocol):
    def on_round(
        self, status: ClusterStatus, events: Sequence[HealthEvent], now: dt.datetime
    ) -> object: ...


class RoundLedger(Protocol):
    """What the store thread needs of the ledger (``monitor.ledger.Ledger``)."""

    healthy: bool
    pending_events: int
    lost_events: int
    last_error: str | None

    def record(
        self, status: ClusterStatus, events: Sequence[HealthEvent], now: dt.datetime
    ) -> bool: ...

    def write(self, force: bool = True) -> bool: ...

    def problems(self) -> list[str]: ...


@dataclass
class _Slot:
    """A queued round; an event-less one may be replaced by its cluster's next round."""

    seq: int
    status: ClusterStatus
    events: tuple[HealthEvent, ...]
    now: dt.datetime


class StoreWorker:
    def __init__(
        self,
        ledger: RoundLedger,
        after: Sequence[RoundSink] = (),
        *,
        handoff_seconds: float = HANDOFF_SECONDS,
        stall_seconds: float = STALL_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
        max_queued: int = MAX_QUEUED,
    ) -> None:
        self._ledger = ledger
        self._max_queued = max_queued
        self._after = list(after)
        self._handoff = handoff_seconds
        self._stall = stall_seconds
        self._monotonic = monotonic
        self._cond = threading.Condition()
        self._queue: list[_Slot] = []
        self._calls: list[Callable[[], object]] = []  # run on the store thread before rounds
        self._latest: dict[str, _Slot] = {}  # cluster -> its newest queued slot
        self._seq = 0  # rounds handed over
        self._done = 0  # rounds whose batch finished
        self._busy_since: float | None = None
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.collapsed_rounds = 0

    # -- the round sink (round threads) ---------------------------------------------------
    def on_round(
        self, status: ClusterStatus, events: Sequence[HealthEvent], now: dt.datetime
    ) -> None:
        due = self._ledger.record(status, events, now)
        with self._cond:
            self._seq += 1
            target = self._seq
            latest = self._latest.get(status.name)
            merge = latest is not None and (
                not (events or latest.events) or len(self._queue) >= self._max_queued
            )
            if latest is not None and merge:
                latest.seq, latest.status, latest.now = target, status, now
                latest.events += tuple(events)
                self.collapsed_rounds += 1
            else:
                slot = _Slot(target, status, tuple(events), now)
                self._queue.append(slot)
                self._latest[status.name] = slot
            self._cond.notify_all()
            if due and not self._stalled():
                self._cond.wait_for(lambda: self._done >= target, timeout=self._handoff)

    # -- health --------------------------------------------------------------------------
    def busy_seconds(self) -> float:
        """How long the store thread has been on its current batch (0 when idle)."""
        since = self._busy_since
        return 0.0 if since is None else max(0.0, self._monotonic() - since)

    def _stalled(self) -> bool:
        return self.busy_seconds() > self._stall

    def status(self) -> StoreStatus:
        ledger = self._ledger
        busy = self.busy_seconds()
        error = ledger.last_error
        if busy > self._stall:
            error = _stall_text(busy)
        return StoreStatus(
            ledger.healthy and busy <= self._stall,
            ledger.pending_events,
            ledger.lost_events,
            error,
        )

    def problems(self) -> list[str]:
        out = list(self._ledger.problems())
        busy = self.busy_seconds()
        if busy > self._stall:
            out.insert(0, f"state store: {_stall_text(busy)}; probing continues")
        return out

    # -- the store thread ----------------------------------------------------------------
    def call_soon(self, action: Callable[[], object]) -> None:
        """Run ``action`` on the store thread before the next rounds it processes (a reload
        of what writes to the store: the caller never waits for the disk)."""
        with self._cond:
            self._calls.append(action)
            self._seq += 1
            self._cond.notify_all()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="store", daemon=True)
        self._thread.start()

    def stop(self, timeout: float) -> bool:
        """Write what is queued and stop; False when the store did not finish in time (a
        hung disk: what is left is lost with the process, and said so)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is None:
            return True
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.error(
                "store.drain_timed_out",
                waited_s=timeout,
                busy_s=round(self.busy_seconds(), 1),
                pending=self._ledger.pending_events,
            )
            return False
        return True

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._calls or self._stopping)
                batch, self._queue, self._latest = self._queue, [], {}
                calls, self._calls = self._calls, []
                if not batch and not calls and self._stopping:
                    break
                upto = self._seq
                self._busy_since = self._monotonic()
            try:
                for call in calls:
                    self._guard("call", call)
                if batch:
                    self._process(batch)
            finally:
                with self._cond:
                    self._busy_since = None
                    self._done = max(self._done, upto)
                    self._cond.notify_all()
        self._ledger.write()  # the drain: everything still waiting, due or not

    def _process(self, batch: list[_Slot]) -> None:
        self._guard("ledger", lambda: self._ledger.write(force=False))
        for slot in batch:
            for sink in self._after:
                self._guard(
                    type(sink).__name__,
                    lambda sink=sink, slot=slot: sink.on_round(slot.status, slot.events, slot.now),
                )

    @staticmethod
    def _guard(what: str, action: Callable[[], object]) -> None:
        try:
            action()
        except Exception:  # noqa: BLE001 - the store thread must outlive a sink's bug
            log.exception("store.sink_crashed", sink=what)


def _stall_text(busy: float) -> str:
    return (
        f"a write has been in progress for {busy:.0f} s (a frozen or very slow disk?); "
        "transitions are kept in memory until it completes"
    )
