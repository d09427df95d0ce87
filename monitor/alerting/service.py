"""The alerting subsystem, assembled: engine, outbox, sender and receivers from a config.

Wiring (the daemon's composition root does this)::

    alerting = Alerting(config, db, in_maintenance=ledger.in_maintenance,
                        sla_source=ledger.figures)
    daemon = Daemon(config, registry, sinks=[ledger, alerting], sla_source=ledger.figures)
    registry.register(AlertCollector(alerting.status))
    alerting.start()          # the outbox sender thread
    ...
    alerting.reload(new)      # on SIGHUP, after the config validated
    alerting.stop()           # on shutdown, after the daemon drained
"""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections.abc import Sequence
from dataclasses import replace

from monitor.alerting.engine import AlertEngine, Gate, SlaSource
from monitor.alerting.grouping import ReceiverPolicy
from monitor.alerting.model import Notification
from monitor.alerting.outbox import Outbox, ReceiverQueue
from monitor.alerting.policy import (
    INHIBITIONS,
    Inhibition,
    InMaintenance,
    maintenance_from_windows,
)
from monitor.alerting.providers import PROVIDERS
from monitor.alerting.sender import Clock, OutboxSender, Receiver, RetryPolicy
from monitor.alerting.settings import AlertSettings
from monitor.alerting.status import AlertingStatus, ReceiverStatus
from monitor.config import Config
from monitor.errors import StoreError
from monitor.ha.settings import CLUSTER_RECEIVER
from monitor.health import HealthEvent
from monitor.probes.base import utc_now
from monitor.snapshot import ClusterStatus
from monitor.store.db import Database


def delivery_receivers(config: Config) -> list[Receiver]:
    """Where notices go: the ``[[receivers]]``, and in HA mode the Alertmanager cluster of
    ``[ha]`` too (the only non-Alertmanager receivers there are refused by check-config)."""
    receivers = [Receiver.from_config(rc) for rc in config.receivers]
    if config.ha is not None:
        spec = PROVIDERS["alertmanager"]
        options = spec.options(urls=config.ha.alertmanagers)  # type: ignore[call-arg]
        receivers.append(Receiver(CLUSTER_RECEIVER, spec, options))
    return receivers


def engine_settings(config: Config) -> AlertSettings:
    """In HA mode the Alertmanager routes and groups (alertmanager-config writes its routes
    from these settings): the engine hands it every alert at once, unrouted."""
    if config.ha is None:
        return config.alerts
    return replace(config.alerts, routes=(), group_wait_seconds=0.0, group_interval_seconds=0.0)


def engine_inhibitions(config: Config) -> tuple[Inhibition, ...]:
    """In HA mode the Alertmanager inhibits, with the same rules (alertmanager-config writes
    them from INHIBITIONS): it sees both replicas' alerts, so a SlurmctldDown that only one
    replica saw still mutes the other's SlurmctldFailover, and no replica withdraws an alert
    the other still sends."""
    return () if config.ha is not None else INHIBITIONS


def receiver_policy(r: Receiver) -> ReceiverPolicy:
    o = r.options
    return ReceiverPolicy(
        r.name,
        o.send_resolved,
        o.repeat_interval_seconds,
        o.resend_resolved_seconds,
    )


class Alerting:
    """A RoundSink (``on_round``) plus the outbox sender thread (``start``/``stop``)."""

    def __init__(
        self,
        config: Config,
        db: Database,
        *,
        clock: Clock = utc_now,
        in_maintenance: InMaintenance | None = None,
        sla_source: SlaSource | None = None,
        http: object | None = None,
        rng: random.Random | None = None,
        gate: Gate | None = None,
    ) -> None:
        self._clock = clock
        self._fixed_maintenance = in_maintenance
        self.outbox = Outbox(db)
        self._queues: dict[str, ReceiverQueue] = {}
        self._queues_lock = threading.Lock()
        receivers = delivery_receivers(config)
        out = config.alerts.outbox
        self.sender = OutboxSender(
            self.outbox,
            receivers,
            RetryPolicy.from_settings(out),
            dead_letter_after_seconds=out.dead_letter_after_seconds,
            keep_sent_seconds=out.keep_sent_seconds,
            clock=clock,
            http=http,
            rng=rng,
            on_change=self._refresh,  # type: ignore[arg-type]
        )
        self.engine = AlertEngine(
            db,
            engine_settings(config),
            config.thresholds,
            [receiver_policy(r) for r in receivers],
            in_maintenance=in_maintenance or maintenance_from_windows(config.maintenance),
            sla_source=sla_source,
            on_enqueue=self._enqueued,
            inhibitions=engine_inhibitions(config),
            gate=gate,
        )
        self._refresh()

    # -- RoundSink -----------------------------------------------------------------------
    def on_round(
        self, status: ClusterStatus, events: Sequence[HealthEvent], now: dt.datetime
    ) -> list[Notification]:
        return self.engine.on_round(status, events, now)

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        self.sender.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.sender.stop(timeout)

    def reload(self, config: Config) -> None:
        receivers = delivery_receivers(config)
        self.sender.set_receivers(receivers)
        self.engine.configure(
            engine_settings(config),
            config.thresholds,
            [receiver_policy(r) for r in receivers],
            [c.name for c in config.clusters],
            self._clock(),
            None if self._fixed_maintenance else maintenance_from_windows(config.maintenance),
            engine_inhibitions(config),
        )

    # -- metrics -------------------------------------------------------------------------
    def _enqueued(self) -> None:
        self._refresh()
        self.sender.wake()

    def _refresh(self) -> None:
        try:
            queues = dict(self.outbox.queues())
        except StoreError:
            return  # keep the last figures; the store error is logged where it happened
        with self._queues_lock:
            self._queues = queues

    def status(self) -> AlertingStatus:
        counters = self.sender.stats()
        with self._queues_lock:
            queues = dict(self._queues)
        receivers = {}
        for name in sorted(set(counters) | set(queues)):
            c, q = counters.get(name), queues.get(name, ReceiverQueue())
            receivers[name] = ReceiverStatus(
                c.sent if c else 0,
                c.failed if c else 0,
                c.dead if c else 0,
                q.depth,
                q.oldest_created_at,
                q.dead,
            )
        return AlertingStatus(self._clock(), self.engine.firing(), receivers)
