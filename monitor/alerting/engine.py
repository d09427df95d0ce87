"""The alert engine: the one place alert policy lives.

Every probe round of a cluster (``on_round``, the daemon's RoundSink) it evaluates the
rules on the cluster's health after hysteresis and on its SLA figures, moves each alert
through its life (pending, firing, resolved; held while unknowable; marked while flapping),
mutes what maintenance silences or another alert inhibits, routes and groups what is left
per receiver, and commits the alert state together with the resulting notifications to the
outbox in one transaction. It never sends anything itself: the outbox sender does.

State lives in the store, so after a restart the same alert keeps its fingerprint, its
``startsAt`` and what each receiver was told.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import replace

import structlog

from monitor.alerting import grouping, policy
from monitor.alerting.grouping import GroupRecord, GroupTiming, ReceiverPolicy
from monitor.alerting.lifecycle import AlertRecord, Timing, advance, new_record
from monitor.alerting.model import FIRING, RESOLVED, Notification, fingerprint
from monitor.alerting.outbox import Outbox, ts
from monitor.alerting.policy import InMaintenance
from monitor.alerting.rules import Candidate, Evaluation, evaluate
from monitor.alerting.settings import AlertSettings
from monitor.alerting.status import FiringAlert
from monitor.config import Thresholds
from monitor.errors import StoreError
from monitor.health import HealthEvent
from monitor.snapshot import ClusterStatus, SlaFigures
from monitor.store.db import Database

log = structlog.get_logger("slurm_sla_monitor")
SlaSource = Callable[[dt.datetime], Sequence[SlaFigures]]
# Rewrites a round's evaluation before the engine acts on it: in HA mode, withholds a
# Down-class alert a peer replica contradicts (monitor.ha.gate). Injected: the engine does
# not know about replicas.
Gate = Callable[[Evaluation, ClusterStatus, AlertSettings, Thresholds, dt.datetime], Evaluation]
BURN = "SlurmSLABudgetBurn"


class AlertEngine:
    def __init__(
        self,
        db: Database,
        settings: AlertSettings,
        thresholds: Thresholds,
        receivers: Sequence[ReceiverPolicy],
        *,
        in_maintenance: InMaintenance = lambda cluster, service, now: False,
        sla_source: SlaSource | None = None,
        on_enqueue: Callable[[], None] = lambda: None,
        inhibitions: Sequence[policy.Inhibition] = policy.INHIBITIONS,
        gate: Gate | None = None,
    ) -> None:
        self.db = db
        self._gate = gate
        self.outbox = Outbox(db)
        self._settings = settings
        self._thresholds = thresholds
        self._receivers = list(receivers)
        self._in_maintenance = in_maintenance
        self._sla_source = sla_source
        self._on_enqueue = on_enqueue
        self._inhibitions = tuple(inhibitions)
        self._lock = threading.Lock()
        self._records: dict[str, AlertRecord] = {}
        self._groups: dict[tuple[str, str], GroupRecord] = {}
        self._firing: tuple[FiringAlert, ...] = ()
        self._store_error: str | None = None  # logged once per cause, not once per round
        self._load()

    # -- state ---------------------------------------------------------------------------
    def _load(self) -> None:
        for row in self.db.query("SELECT * FROM alert_state"):
            rec = AlertRecord.from_row(
                row["fingerprint"], row["cluster"], row["alertname"], row["instance"], row["record"]
            )
            self._records[rec.fingerprint] = rec
        for row in self.db.query("SELECT * FROM alert_group_state"):
            g = GroupRecord.from_row(row["receiver"], row["group_key"], row["record"])
            self._groups[(g.receiver, g.key)] = g
        self._firing = _firing_alerts(self._records)
        if self._records:
            log.info("alert.state_loaded", alerts=len(self._records), groups=len(self._groups))

    @property
    def records(self) -> Mapping[str, AlertRecord]:
        return dict(self._records)

    @property
    def groups(self) -> Mapping[tuple[str, str], GroupRecord]:
        return dict(self._groups)

    def firing(self) -> tuple[FiringAlert, ...]:
        return self._firing

    def configure(
        self,
        settings: AlertSettings,
        thresholds: Thresholds,
        receivers: Sequence[ReceiverPolicy],
        clusters: Collection[str],
        now: dt.datetime,
        in_maintenance: InMaintenance | None = None,
        inhibitions: Sequence[policy.Inhibition] | None = None,
    ) -> list[Notification]:
        """Take a reloaded config; alerts of clusters no longer configured resolve."""
        with self._lock:
            self._settings, self._thresholds = settings, thresholds
            if inhibitions is not None:
                self._inhibitions = tuple(inhibitions)
            if in_maintenance is not None:
                self._in_maintenance = in_maintenance
            self._receivers = list(receivers)
            records = dict(self._records)
            for fp, rec in self._records.items():
                if rec.cluster not in clusters:
                    gone = advance(rec, None, Timing(flap_threshold=0), now)
                    _put(records, fp, gone)
            return self._commit(records, now)

    # -- one round -----------------------------------------------------------------------
    def on_round(
        self, status: ClusterStatus, events: Sequence[HealthEvent], now: dt.datetime
    ) -> list[Notification]:
        """Evaluate one cluster's round; return the notifications queued (already durable)."""
        with self._lock:
            sla = self._sla(now)
            ev = evaluate(status, sla or (), self._settings, self._thresholds, now)
            if self._gate is not None:
                ev = self._gate(ev, status, self._settings, self._thresholds, now)
            cluster = status.name
            active: dict[str, Candidate] = {
                fingerprint(cluster, c.alertname, c.instance): c for c in ev.active
            }
            records = dict(self._records)
            for fp, rec in self._records.items():
                if rec.cluster != cluster or fp in active:
                    continue
                if rec.alertname in ev.rules and ev.is_held(rec.alertname, rec.instance):
                    continue  # unknowable now: neither resolve nor re-fire
                if sla is None and rec.alertname == BURN:
                    continue  # the ledger failed: its figures are unknowable
                _put(records, fp, advance(rec, None, self._timing(rec.alertname), now))
            for fp, c in active.items():
                rec = self._records.get(fp) or new_record(cluster, c)
                _put(records, fp, advance(rec, c, self._timing(c.alertname), now))
            return self._commit(records, now)

    def _sla(self, now: dt.datetime) -> Sequence[SlaFigures] | None:
        if self._sla_source is None:
            return ()
        try:
            return self._sla_source(now)
        except Exception:  # noqa: BLE001 - the ledger's trouble must not stop the alerts
            log.exception("alert.sla_source_failed")
            return None

    def _timing(self, alertname: str) -> Timing:
        s = self._settings
        return Timing(
            s.rule(alertname).for_seconds,
            s.flap_window_seconds,
            s.flap_threshold,
            s.flap_hold_seconds,
        )

    # -- muting, grouping, committing ------------------------------------------------------
    def _muted(self, records: Mapping[str, AlertRecord], now: dt.datetime) -> set[str]:
        firing = [r for r in records.values() if r.state == FIRING]
        muted = set()
        for rec in firing:
            if self._silenced(rec, now) or policy.inhibited(
                [s.labels for s in firing if s.fingerprint != rec.fingerprint],
                rec.labels,
                self._inhibitions,
            ):
                muted.add(rec.fingerprint)
        return muted

    def _silenced(self, rec: AlertRecord, now: dt.datetime) -> bool:
        try:
            return bool(self._in_maintenance(rec.cluster, rec.service, now))
        except Exception:  # noqa: BLE001 - when in doubt, notify
            log.exception("alert.maintenance_check_failed", cluster=rec.cluster)
            return False

    def _prune(self, records: dict[str, AlertRecord], now: dt.datetime) -> None:
        s = self._settings
        keep = (
            max(
                s.flap_window_seconds,
                s.group_wait_seconds,
                s.group_interval_seconds,
                *(r.resend_resolved_seconds for r in self._receivers),
                0.0,
            )
            + 60
        )
        told_firing = {
            fp for g in self._groups.values() for fp, st in g.notified.items() if st == FIRING
        }
        for fp, rec in list(records.items()):
            if (
                rec.state == RESOLVED
                and rec.ends_at is not None
                and (now - rec.ends_at).total_seconds() > keep
                and fp not in told_firing
            ):
                del records[fp]

    def _commit(self, records: dict[str, AlertRecord], now: dt.datetime) -> list[Notification]:
        self._prune(records, now)
        s = self._settings
        names = [r.name for r in self._receivers]
        routes: dict[str, tuple[str, ...]] = {}

        def routed(rec: AlertRecord) -> tuple[str, ...]:
            if rec.fingerprint not in routes:
                routes[rec.fingerprint] = policy.route(rec.labels, s.routes, names)
            return routes[rec.fingerprint]

        receivers = [
            replace(
                r, repeat_interval_seconds=r.repeat_interval_seconds or s.repeat_interval_seconds
            )
            for r in self._receivers
        ]
        planned = grouping.plan(
            records,
            self._groups,
            receivers,
            routed,
            self._muted(records, now),
            GroupTiming(s.group_by, s.group_wait_seconds, s.group_interval_seconds, s.external_url),
            now,
            self.outbox.has_pending,
        )
        try:
            self._write(records, planned, now)
        except StoreError as exc:
            if str(exc) != self._store_error:
                log.error("alert.store_failed", error=str(exc))
                self._store_error = str(exc)
            return []  # nothing changed: the next round tries again
        if self._store_error is not None:
            log.info("alert.store_recovered")
            self._store_error = None
        before = self._records
        self._records, self._groups = records, planned.groups
        self._firing = _firing_alerts(records)
        _log_transitions(before, records)
        if planned.notifications:
            for n in planned.notifications:
                log.info(
                    "alert.queued",
                    receiver=n.receiver,
                    group=n.group_key,
                    status=n.status,
                    reason=n.reason,
                    alerts=len(n.alerts),
                )
            self._on_enqueue()
        return planned.notifications

    def _write(
        self, records: Mapping[str, AlertRecord], planned: grouping.Plan, now: dt.datetime
    ) -> None:
        with self.db.transaction() as conn:
            for fp, rec in records.items():
                if self._records.get(fp) == rec:
                    continue
                conn.execute(
                    "INSERT INTO alert_state (fingerprint, cluster, alertname, instance, state,"
                    " record, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(fingerprint)"
                    " DO UPDATE SET state = excluded.state, record = excluded.record,"
                    " updated_at = excluded.updated_at",
                    (
                        fp,
                        rec.cluster,
                        rec.alertname,
                        rec.instance,
                        rec.state,
                        rec.to_json(),
                        ts(now),
                    ),
                )
            for fp in set(self._records) - set(records):
                conn.execute("DELETE FROM alert_state WHERE fingerprint = ?", (fp,))
            for key, g in planned.groups.items():
                if self._groups.get(key) != g:
                    conn.execute(
                        "INSERT INTO alert_group_state (receiver, group_key, record, updated_at)"
                        " VALUES (?, ?, ?, ?) ON CONFLICT(receiver, group_key) DO UPDATE SET"
                        " record = excluded.record, updated_at = excluded.updated_at",
                        (g.receiver, g.key, g.to_json(), ts(now)),
                    )
            for receiver, key in set(self._groups) - set(planned.groups):
                conn.execute(
                    "DELETE FROM alert_group_state WHERE receiver = ? AND group_key = ?",
                    (receiver, key),
                )
            for n in planned.notifications:
                Outbox.add(conn, n, now)


def _put(records: dict[str, AlertRecord], fp: str, rec: AlertRecord | None) -> None:
    if rec is None:
        records.pop(fp, None)
    else:
        records[fp] = rec


def _firing_alerts(records: Mapping[str, AlertRecord]) -> tuple[FiringAlert, ...]:
    return tuple(
        sorted(
            FiringAlert(
                rec.cluster,
                rec.alertname,
                rec.labels.get("severity", ""),
                rec.labels.get("service", ""),
                rec.labels.get("daemon", ""),
                rec.labels.get("host", ""),
                rec.labels.get("role", ""),
                rec.labels.get("urgency", ""),
                rec.fingerprint,
            )
            for rec in records.values()
            if rec.state == FIRING
        )
    )


def _log_transitions(before: Mapping[str, AlertRecord], after: Mapping[str, AlertRecord]) -> None:
    for fp, rec in after.items():
        old = before.get(fp)
        if rec.state == FIRING and (old is None or old.state != FIRING):
            log.warning(
                "alert.firing",
                cluster=rec.cluster,
                alertname=rec.alertname,
                instance=rec.instance,
                severity=rec.labels.get("severity"),
                fingerprint=fp,
                starts_at=rec.starts_at.isoformat() if rec.starts_at else None,
            )
        elif rec.state == RESOLVED and old is not None and old.state == FIRING:
            log.info(
                "alert.resolved",
                cluster=rec.cluster,
                alertname=rec.alertname,
                instance=rec.instance,
                fingerprint=fp,
                ends_at=rec.ends_at.isoformat() if rec.ends_at else None,
            )
