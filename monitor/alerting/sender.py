"""Delivering the outbox: due rows go to their receivers; failures come back later with
exponential backoff and jitter, a receiver's ``Retry-After`` is honoured, a 429 pauses that
receiver, and a per-receiver rate limit makes an alert storm wait in the queue (never
dropped).

Every receiver has its own worker thread, so a slow or dead receiver only ever delays its
own notices; each attempt ends at its deadline (``timeout_seconds``: connect, send and the
answer, see ``providers/deadline.py``) and then counts as failed and is retried. A
housekeeping thread dead-letters, prunes, and handles rows of receivers no longer
configured. ``run_once`` is the whole step for every receiver in turn, for tests.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import structlog

from monitor.alerting.model import Notification
from monitor.alerting.outbox import Outbox, OutboxItem
from monitor.alerting.pacing import RateLimiter, RetryPolicy
from monitor.alerting.providers import PROVIDERS
from monitor.alerting.providers.base import Delivery, ProviderSpec, ReceiverOptions, SendContext
from monitor.alerting.providers.deadline import Deadline
from monitor.alerting.providers.http import HttpClient
from monitor.clock import MonotonicClock
from monitor.config import ReceiverConfig
from monitor.errors import StoreError

log = structlog.get_logger("slurm_sla_monitor")
Clock = Callable[[], dt.datetime]

# After an attempt's sockets are cut, how long to let it finish before leaving it behind.
CUT_GRACE_SECONDS = 0.5
IDLE_WAIT_SECONDS = 5.0  # a worker looks at the store at least this often
STOPPING = "the monitor is stopping"


@dataclass(frozen=True)
class Receiver:
    """A configured receiver: its name, its provider, its validated options."""

    name: str
    spec: ProviderSpec
    options: ReceiverOptions

    @classmethod
    def from_config(cls, rc: ReceiverConfig) -> Receiver:
        spec = PROVIDERS[rc.type]
        options = rc.settings if rc.settings is not None else spec.options()
        return cls(rc.name, spec, options)

    def deliver(
        self,
        n: Notification,
        now: dt.datetime,
        http: HttpClient,
        deadline: Deadline | None = None,
    ) -> Delivery:
        """One attempt, over by ``deadline`` (default: ``timeout_seconds`` from now) whatever
        the receiver does: the send runs in its own thread, and a send still running at the
        deadline has its sockets cut and is left behind, failed."""
        deadline = deadline or Deadline(self.options.timeout_seconds)
        ctx = SendContext(now, http, self.name, deadline)
        finished = threading.Event()
        outcome: list[Delivery] = []

        def run() -> None:
            try:
                outcome.append(self.spec.send(self.options, n, ctx))
            except Exception as exc:  # noqa: BLE001 - a provider bug must not stop the outbox
                log.exception("alert.provider_crashed", receiver=self.name, type=self.spec.type)
                outcome.append(Delivery(False, None, f"internal error ({type(exc).__name__})"))
            finally:
                finished.set()

        deadline.on_expiry(finished.set)  # an early expire (shutdown) ends the wait too
        thread = threading.Thread(target=run, name=f"alert-attempt-{self.name}", daemon=True)
        thread.start()
        finished.wait(deadline.remaining())
        if outcome and not deadline.cut:  # done, if only just: the receiver has it
            return outcome[0]
        deadline.expire()
        thread.join(CUT_GRACE_SECONDS)  # cut sockets end the send; a hung DNS lookup may not
        return Delivery(False, None, deadline.message)


@dataclass
class Counters:
    sent: int = 0
    failed: int = 0
    dead: int = 0


class _Worker:
    """One receiver's delivery loop: what it waits for is its own receiver only."""

    def __init__(self, name: str, step: Callable[[str], float], stop: threading.Event) -> None:
        self.name = name
        self.wake = threading.Event()
        self._step = step
        self._stop = stop
        self.thread = threading.Thread(target=self._loop, name=f"alert-send-{name}", daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.wake.clear()  # before the step: a wake during it makes another step
            self.wake.wait(self._step(self.name))


class OutboxSender:
    def __init__(
        self,
        outbox: Outbox,
        receivers: Sequence[Receiver],
        policy: RetryPolicy,
        *,
        dead_letter_after_seconds: float = 86400.0,
        keep_sent_seconds: float = 7 * 86400.0,
        clock: Clock,
        http: HttpClient | None = None,
        rng: random.Random | None = None,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self.outbox = outbox
        self.policy = policy
        self.dead_letter_after_seconds = dead_letter_after_seconds
        self.keep_sent_seconds = keep_sent_seconds
        self._clock = clock
        self._http = http or HttpClient()
        self._rng = rng or random.Random()
        self._on_change = on_change
        self._lock = threading.Lock()
        self._receivers: dict[str, Receiver] = {}
        self._limiters: dict[str, RateLimiter] = {}
        self._paused: dict[str, dt.datetime] = {}
        self.counters: dict[str, Counters] = {}
        self._workers: dict[str, _Worker] = {}
        self._in_flight: dict[str, Deadline] = {}
        self._stop = threading.Event()
        self._running = False
        self._housekeeper: threading.Thread | None = None
        self._last_prune: dt.datetime | None = None
        self.set_receivers(receivers)

    def set_receivers(self, receivers: Sequence[Receiver]) -> None:
        now = self._clock()
        with self._lock:
            for r in receivers:  # limiters first: a delivery may look a receiver up any time
                limiter = self._limiters.get(r.name)
                if limiter is None or limiter.per_minute != r.options.max_per_minute:
                    self._limiters[r.name] = RateLimiter(r.options.max_per_minute, now)
                self.counters.setdefault(r.name, Counters())
            self._receivers = {r.name: r for r in receivers}
            if self._running:
                self._start_workers()

    def _start_workers(self) -> None:
        """A worker for every configured receiver (caller holds the lock). A removed
        receiver keeps its worker: it fails that receiver's rows until they expire."""
        for name in self._receivers:
            if name not in self._workers:
                worker = _Worker(name, self._step, self._stop)
                self._workers[name] = worker
                worker.thread.start()

    # -- one receiver ----------------------------------------------------------------------
    def deliver_due(self, name: str) -> int:
        """Deliver what is due for receiver ``name``, oldest first; return the attempts."""
        items = self.outbox.due(self._clock(), receiver=name)
        if not items:
            return 0
        receiver = self._receivers.get(name)
        if receiver is None:
            now = self._clock()
            retry_at = now + dt.timedelta(seconds=self.policy.max_seconds)
            for item in items:
                self.outbox.mark_failed(
                    item.id, now, retry_at, None, "receiver no longer configured"
                )
            self._on_change()
            return 0
        attempts = 0
        for item in items:
            if self._stop.is_set():
                break  # what is left stays queued in the store
            now = self._clock()
            paused = self._paused.get(name)
            if paused is not None and now < paused:
                self.outbox.postpone(name, paused)
                break
            if not self._limiters[name].take(now):
                self.outbox.postpone(name, self._limiters[name].ready_at(now))
                log.info("alert.rate_limited", receiver=name, queued=len(items) - attempts)
                break
            started = time.monotonic()
            result = self._attempt(receiver, item, now)
            attempts += 1
            self._record(name, item, result, time.monotonic() - started)
            self._on_change()  # the figures are true after every attempt, not every pass
            if result.throttled:
                break
        return attempts

    def _attempt(self, receiver: Receiver, item: OutboxItem, now: dt.datetime) -> Delivery:
        deadline = Deadline(receiver.options.timeout_seconds)
        notification = item.notification
        offset = self._clock.offset_seconds if isinstance(self._clock, MonotonicClock) else 0.0
        if offset:
            # After a wall-clock step back the monitor's times run ahead of the wall clock;
            # a receiver reads them on its own: Alertmanager keeps a resolved alert active
            # until its endsAt, which would be the size of the step away.
            notification = notification.shifted(offset)
            now += dt.timedelta(seconds=offset)
        with self._lock:
            self._in_flight[receiver.name] = deadline
        try:
            return receiver.deliver(notification, now, self._http, deadline)
        finally:
            with self._lock:
                self._in_flight.pop(receiver.name, None)

    def _record(self, name: str, item: OutboxItem, result: Delivery, duration: float) -> None:
        done = self._clock()
        counters = self.counters.setdefault(name, Counters())
        if result.ok:
            self.outbox.mark_sent(item.id, done, result.status)
            with self._lock:
                counters.sent += 1
            log.info(
                "alert.delivered",
                receiver=name,
                group=item.group_key,
                status=item.status,
                alerts=len(item.notification.alerts),
                attempts=item.attempts + 1,
                latency_s=round((done - item.created_at).total_seconds(), 3),
                duration_s=round(duration, 3),
            )
            if result.note:
                log.warning("alert.delivery_partial", receiver=name, error=result.note)
            return
        with self._lock:
            counters.failed += 1
        delay = self.policy.delay(item.attempts + 1, self._rng, result.retry_after)
        retry_at = done + dt.timedelta(seconds=delay)
        self.outbox.mark_failed(item.id, done, retry_at, result.status, result.error)
        log.warning(
            "alert.delivery_failed",
            receiver=name,
            group=item.group_key,
            status=item.status,
            error=result.error,
            http_status=result.status,
            attempt=item.attempts + 1,
            duration_s=round(duration, 3),
            retry_in_s=round(delay, 1),
        )
        if result.throttled:
            self._paused[name] = retry_at
            self.outbox.postpone(name, retry_at)

    # -- every receiver ----------------------------------------------------------------------
    def run_once(self) -> int:
        """Deliver everything due now, receiver after receiver; return the attempts made."""
        now = self._clock()
        self._expire(now)
        attempts = sum(self.deliver_due(name) for name in self.outbox.due_receivers(now))
        self._prune(now)
        return attempts

    def _housekeep(self) -> None:
        now = self._clock()
        self._expire(now)
        with self._lock:
            served = set(self._workers)
        for name in self.outbox.due_receivers(now):
            if name not in served:  # rows of a receiver gone before this start
                self.deliver_due(name)
        self._prune(now)
        self._on_change()  # so the figures are never older than one housekeeping round

    def _expire(self, now: dt.datetime) -> None:
        expired = self.outbox.expire(now, self.dead_letter_after_seconds)
        for item in expired:
            with self._lock:
                self.counters.setdefault(item.receiver, Counters()).dead += 1
            log.error(
                "alert.dead_letter",
                receiver=item.receiver,
                group=item.group_key,
                status=item.status,
                attempts=item.attempts,
                last_error=item.last_error,
                age_s=round((now - item.created_at).total_seconds()),
            )
        if expired:
            self._on_change()

    def _prune(self, now: dt.datetime) -> None:
        if self._last_prune is None or (now - self._last_prune).total_seconds() > 3600:
            self._last_prune = now
            self.outbox.prune(now, self.keep_sent_seconds)

    # -- the threads ---------------------------------------------------------------------------
    def wake(self) -> None:
        with self._lock:
            workers = list(self._workers.values())
        for worker in workers:
            worker.wake.set()

    def start(self) -> None:
        with self._lock:
            if self._running:
                return
            self._stop.clear()
            self._running = True
            self._start_workers()
        self._housekeeper = threading.Thread(
            target=self._housekeeping_loop, name="alert-outbox", daemon=True
        )
        self._housekeeper.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop: no new attempt starts, the ones in flight have ``timeout`` seconds to end
        (each is bounded by its own deadline too), then are cut; a cut or queued notice
        stays in the store for the next start."""
        self._stop.set()
        with self._lock:
            self._running = False
            workers, self._workers = list(self._workers.values()), {}
        threads = [w.thread for w in workers]
        for worker in workers:
            worker.wake.set()
        if self._housekeeper is not None:
            threads.append(self._housekeeper)
            self._housekeeper = None
        end = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, end - time.monotonic()))
        with self._lock:
            in_flight = list(self._in_flight.values())
        for deadline in in_flight:
            deadline.expire(STOPPING)
        for thread in threads:
            thread.join(CUT_GRACE_SECONDS * 2)

    def _step(self, name: str) -> float:
        """One worker round: deliver what is due; seconds until this receiver's next row."""
        try:
            self.deliver_due(name)
            nxt = self.outbox.next_due(receiver=name)
        except StoreError as exc:
            log.error("alert.outbox_store_failed", receiver=name, error=str(exc))
            return IDLE_WAIT_SECONDS
        except Exception:  # noqa: BLE001 - keep delivering whatever happens
            log.exception("alert.outbox_crashed", receiver=name)
            return IDLE_WAIT_SECONDS
        if nxt is None:
            return IDLE_WAIT_SECONDS
        return min(IDLE_WAIT_SECONDS, max(0.05, (nxt - self._clock()).total_seconds()))

    def _housekeeping_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._housekeep()
            except StoreError as exc:
                log.error("alert.outbox_store_failed", error=str(exc))
            except Exception:  # noqa: BLE001 - keep delivering whatever happens
                log.exception("alert.outbox_crashed")
            self._stop.wait(IDLE_WAIT_SECONDS)

    def stats(self) -> Mapping[str, Counters]:
        with self._lock:
            return {name: Counters(c.sent, c.failed, c.dead) for name, c in self.counters.items()}
