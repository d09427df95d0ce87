"""When to try a receiver again: backoff with jitter after a failure (or the receiver's own
``Retry-After``), and a token bucket that makes an alert storm wait in the queue."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from monitor.alerting.settings import OutboxSettings


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
