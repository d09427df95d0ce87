"""The alerting subsystem: alerts firing, notifications sent and failed per receiver, the
outbox's depth and oldest age, dead letters.

Reads an :class:`~monitor.alerting.status.AlertingStatus`, e.g.
``AlertingStatus(firing=(FiringAlert("prod", "SlurmMonitorBlind", "warning",
service="slurmdbd", fingerprint="3f1c..."),), receivers={"oncall": ReceiverStatus(
sent_total=3, failed_total=2, queued=1, oldest_queued_at=<10:00:05Z>, dead_letters=0)})``.
Its source is ``Alerting.status``, not the probe snapshot, because deliveries happen
between probe rounds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import astuple, fields

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from monitor.alerting.status import AlertingStatus, FiringAlert

# One series per firing alert instance, valued 1, like Prometheus's own ALERTS: the alert's
# labels ("" where one does not apply), and the fingerprint of its notifications, which
# keeps two instances apart even where their labels agree.
FIRING_LABELS = [f.name for f in fields(FiringAlert)]


class AlertCollector:
    def __init__(
        self,
        source: Callable[[], AlertingStatus],
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._source = source
        self._clock = clock

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        status = self._source()
        now = self._clock()
        firing = GaugeMetricFamily(
            "slurm_sla_alerts_firing",
            "1 for each alert instance firing now (silenced and inhibited ones included).",
            labels=FIRING_LABELS,
        )
        for a in sorted(status.firing):
            firing.add_metric(list(astuple(a)), 1.0)
        sent = CounterMetricFamily(
            "slurm_sla_alert_notifications_sent",
            "Notifications a receiver accepted, since the monitor started.",
            labels=["receiver"],
        )
        failed = CounterMetricFamily(
            "slurm_sla_alert_notifications_failed",
            "Delivery attempts that failed (each is retried from the outbox), since the "
            "monitor started.",
            labels=["receiver"],
        )
        dead_total = CounterMetricFamily(
            "slurm_sla_alert_notifications_dead_lettered",
            "Notifications given up after the dead-letter age, since the monitor started.",
            labels=["receiver"],
        )
        depth = GaugeMetricFamily(
            "slurm_sla_alert_outbox_depth",
            "Notifications waiting in the outbox (queued, retrying or rate limited).",
            labels=["receiver"],
        )
        oldest = GaugeMetricFamily(
            "slurm_sla_alert_outbox_oldest_age_seconds",
            "Age of the oldest notification waiting in the outbox (0 when empty).",
            labels=["receiver"],
        )
        dead = GaugeMetricFamily(
            "slurm_sla_alert_dead_letters",
            "Dead letters held in the store (notifications never delivered).",
            labels=["receiver"],
        )
        for name, r in sorted(status.receivers.items()):
            sent.add_metric([name], float(r.sent_total))
            failed.add_metric([name], float(r.failed_total))
            dead_total.add_metric([name], float(r.dead_total))
            depth.add_metric([name], float(r.queued))
            age = 0.0 if r.oldest_queued_at is None else (now - r.oldest_queued_at).total_seconds()
            oldest.add_metric([name], max(0.0, age))
            dead.add_metric([name], float(r.dead_letters))
        yield from (firing, sent, failed, dead_total, depth, oldest, dead)
