"""The alerting subsystem once the state store can be opened.

Alert state and the outbox live in the store, so alerting cannot run without it; probing
can. When the store cannot be opened at start (read-only, full, not writable), the daemon
runs without alerting, and the slot builds it on the first round after the store opens
(the alert engine is state-based: it fires what the current state calls for).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Sequence

import structlog

from monitor.alerting.model import Notification
from monitor.alerting.service import Alerting
from monitor.alerting.status import AlertingStatus
from monitor.config import Config
from monitor.errors import StoreError
from monitor.health import HealthEvent
from monitor.probes.base import Clock, utc_now
from monitor.snapshot import ClusterStatus

log = structlog.get_logger("slurm_sla_monitor")


class AlertingSlot:
    """A RoundSink and lifecycle like ``Alerting``'s, with ``Alerting`` built on demand."""

    def __init__(
        self,
        build: Callable[[], Alerting],
        *,
        retry_seconds: float = 10.0,
        clock: Clock = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._build = build
        self._clock = clock
        self._retry = retry_seconds
        self._monotonic = monotonic
        self._last_attempt: float | None = None
        self._lock = threading.Lock()
        self._alerting: Alerting | None = None
        self._started = False
        self._last_error: str | None = None
        self.ensure()

    @property
    def alerting(self) -> Alerting | None:
        return self._alerting

    def ensure(self) -> Alerting | None:
        """Build alerting if it is not yet and the store opens now."""
        with self._lock:
            if self._alerting is not None:
                return self._alerting
            now = self._monotonic()
            if self._last_attempt is not None and now - self._last_attempt < self._retry:
                return None  # every round would otherwise try to open the store again
            self._last_attempt = now
            try:
                alerting = self._build()
            except StoreError as exc:
                if self._last_error is None:  # the ledger logs the store's error itself
                    log.warning("alerting.waiting_for_store")
                self._last_error = str(exc)
                return None
            if self._last_error is not None:
                log.info("alerting.started_late")
            self._alerting = alerting
            if self._started:
                alerting.start()
            return alerting

    # -- RoundSink -----------------------------------------------------------------------
    def on_round(
        self, status: ClusterStatus, events: Sequence[HealthEvent], now: dt.datetime
    ) -> list[Notification]:
        alerting = self.ensure()
        return alerting.on_round(status, events, now) if alerting else []

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        with self._lock:
            self._started = True
            if self._alerting is not None:
                self._alerting.start()

    def stop(self, timeout: float = 10.0) -> None:
        with self._lock:
            self._started = False
            if self._alerting is not None:
                self._alerting.stop(timeout)

    def reload(self, config: Config) -> None:
        # Built later, alerting reads the service's current config itself.
        alerting = self._alerting
        if alerting is not None:
            alerting.reload(config)

    def status(self) -> AlertingStatus:
        alerting = self._alerting
        if alerting is None:
            return AlertingStatus(self._clock(), (), {})
        return alerting.status()
