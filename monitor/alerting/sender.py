"""Delivering the outbox: due rows go to their receivers; failures come back later with
exponential backoff and jitter, a receiver's ``Retry-After`` is honoured, a 429 pauses that
receiver, and a per-receiver rate limit makes an alert storm wait in the queue (never
dropped). Runs as one background thread; ``run_once`` is the whole step, for tests.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import structlog

from monitor.alerting.model import Notification
from monitor.alerting.outbox import Outbox, OutboxItem
from monitor.alerting.providers import PROVIDERS
from monitor.alerting.providers.base import Delivery, ProviderSpec, ReceiverOptions, SendContext
from monitor.alerting.providers.http import HttpClient
from monitor.alerting.settings import OutboxSettings
from monitor.config import ReceiverConfig
from monitor.errors import StoreError

log = structlog.get_logger("slurm_sla_monitor")
Clock = Callable[[], dt.datetime]


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

    def deliver(self, n: Notification, now: dt.datetime, http: HttpClient) -> Delivery:
        try:
            return self.spec.send(self.options, n, SendContext(now, http, self.name))
        except Exception as exc:  # noqa: BLE001 - a provider bug must not stop the outbox
            log.exception("alert.provider_crashed", receiver=self.name, type=self.spec.type)
            return Delivery(False, None, f"internal error ({type(exc).__name__})")


@dataclass(frozen=True)
class RetryPolicy:
    initial_seconds: float = 2.0
    max_seconds: float = 120.0
    max_retry_after_seconds: float = 3600.0

    @classmethod
    def from_settings(cls, s: OutboxSettings) -> RetryPolicy:
        return cls(s.retry_initial_seconds, s.retry_max_seconds, s.max_retry_after_seconds)

    def delay(self, attempts: int, rng: random.Random, retry_after: float | None = None) -> float:
        """Seconds before attempt ``attempts + 1``: ``Retry-After`` when the receiver said
        so, else exponential backoff with equal jitter (half fixed, half random)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after_seconds)
        base = min(self.max_seconds, self.initial_seconds * 2 ** max(0, attempts - 1))
        return base / 2 + rng.uniform(0, base / 2)


class RateLimiter:
    """A token bucket: ``per_minute`` notifications a minute, bursting up to that many."""

    def __init__(self, per_minute: int, now: dt.datetime) -> None:
        self.per_minute = per_minute
        self._tokens = float(per_minute)
        self._at = now

    def _refill(self, now: dt.datetime) -> None:
        elapsed = max(0.0, (now - self._at).total_seconds())
        self._tokens = min(float(self.per_minute), self._tokens + elapsed * self.per_minute / 60)
        self._at = now

    def take(self, now: dt.datetime) -> bool:
        if self.per_minute <= 0:
            return True
        self._refill(now)
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False

    def ready_at(self, now: dt.datetime) -> dt.datetime:
        self._refill(now)
        missing = max(0.0, 1 - self._tokens)
        return now + dt.timedelta(seconds=missing * 60 / max(self.per_minute, 1))


@dataclass
class Counters:
    sent: int = 0
    failed: int = 0
    dead: int = 0


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
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
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

    # -- one pass ------------------------------------------------------------------------
    def run_once(self) -> int:
        """Deliver everything due now; return how many attempts were made."""
        now = self._clock()
        self._expire(now)
        items = self.outbox.due(now)
        by_receiver: dict[str, list[OutboxItem]] = {}
        for item in items:
            by_receiver.setdefault(item.receiver, []).append(item)
        if len(by_receiver) <= 1 or self._pool is None:
            attempts = sum(self._deliver_all(name, rows) for name, rows in by_receiver.items())
        else:  # one slow receiver must not hold up the others
            futures = [self._pool.submit(self._deliver_all, n, r) for n, r in by_receiver.items()]
            attempts = sum(f.result() for f in futures)
        self._prune(now)
        if items:
            self._on_change()
        return attempts

    def _deliver_all(self, name: str, items: list[OutboxItem]) -> int:
        receiver = self._receivers.get(name)
        counters = self.counters.setdefault(name, Counters())
        if receiver is None:
            for item in items:
                self.outbox.mark_failed(
                    item.id,
                    self._clock(),
                    self._clock() + dt.timedelta(seconds=self.policy.max_seconds),
                    None,
                    "receiver no longer configured",
                )
            return 0
        attempts = 0
        for item in items:
            now = self._clock()
            paused = self._paused.get(name)
            if paused is not None and now < paused:
                self.outbox.postpone(name, paused)
                break
            if not self._limiters[name].take(now):
                self.outbox.postpone(name, self._limiters[name].ready_at(now))
                log.info("alert.rate_limited", receiver=name, queued=len(items) - attempts)
                break
            result = receiver.deliver(item.notification, now, self._http)
            attempts += 1
            done = self._clock()
            if result.ok:
                self.outbox.mark_sent(item.id, done, result.status)
                counters.sent += 1
                log.info(
                    "alert.delivered",
                    receiver=name,
                    group=item.group_key,
                    status=item.status,
                    alerts=len(item.notification.alerts),
                    attempts=item.attempts + 1,
                    latency_s=round((done - item.created_at).total_seconds(), 3),
                )
                if result.note:
                    log.warning("alert.delivery_partial", receiver=name, error=result.note)
                continue
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
                retry_in_s=round(delay, 1),
            )
            if result.throttled:
                self._paused[name] = retry_at
                self.outbox.postpone(name, retry_at)
                break
        return attempts

    def _expire(self, now: dt.datetime) -> None:
        for item in self.outbox.expire(now, self.dead_letter_after_seconds):
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

    def _prune(self, now: dt.datetime) -> None:
        if self._last_prune is None or (now - self._last_prune).total_seconds() > 3600:
            self._last_prune = now
            self.outbox.prune(now, self.keep_sent_seconds)

    # -- the thread ----------------------------------------------------------------------
    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="alert-send")
        self._thread = threading.Thread(target=self._loop, name="alert-outbox", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the delivery in progress; what is still queued stays in the store."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()  # before the pass: a wake during it makes another pass
            try:
                self.run_once()
                wait = self._seconds_to_next()
            except StoreError as exc:
                log.error("alert.outbox_store_failed", error=str(exc))
                wait = 5.0
            except Exception:  # noqa: BLE001 - keep delivering whatever happens
                log.exception("alert.outbox_crashed")
                wait = 5.0
            self._wake.wait(wait)

    def _seconds_to_next(self) -> float:
        nxt = self.outbox.next_due()
        if nxt is None:
            return 5.0
        return min(5.0, max(0.05, (nxt - self._clock()).total_seconds()))

    def stats(self) -> Mapping[str, Counters]:
        return {name: Counters(c.sent, c.failed, c.dead) for name, c in self.counters.items()}
