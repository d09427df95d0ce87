"""Grouping: which notifications to send, to whom, now. Pure.

For each receiver, the alerts routed to it are grouped by ``group_by`` (the cluster, by
default), so an outage of one cluster is one notification listing every alert, not ten.
A group is notified when an alert joins it (after ``group_wait`` for a quiet group, or
``group_interval`` after its last notification) or resolves, and again every
``repeat_interval`` while anything in it fires. Each notification lists every firing,
unmuted alert of the group and those resolved since the last one (Alertmanager's shape).
Muted alerts (silenced by maintenance, or inhibited) are left out; one that was notified as
firing still gets its resolved notice, so no receiver is left with a stale alert.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace

from monitor.alerting.lifecycle import AlertRecord
from monitor.alerting.model import (
    FIRING,
    RESOLVED,
    AlertNotice,
    Notification,
    group_key,
    iso,
    parse_iso,
)


@dataclass(frozen=True)
class GroupRecord:
    receiver: str
    key: str
    labels: Mapping[str, str]
    notified: Mapping[str, str] = field(default_factory=dict)  # fingerprint -> last status sent
    last_notified_at: dt.datetime | None = None
    changed_at: dt.datetime | None = None  # first change not yet notified

    def to_json(self) -> str:
        return json.dumps(
            {
                "labels": dict(self.labels),
                "notified": dict(sorted(self.notified.items())),
                "last_notified_at": iso(self.last_notified_at) if self.last_notified_at else None,
                "changed_at": iso(self.changed_at) if self.changed_at else None,
            },
            sort_keys=True,
        )

    @classmethod
    def from_row(cls, receiver: str, key: str, text: str) -> GroupRecord:
        d = json.loads(text)
        return cls(
            receiver,
            key,
            d["labels"],
            d["notified"],
            parse_iso(d["last_notified_at"]),
            parse_iso(d["changed_at"]),
        )


@dataclass(frozen=True)
class ReceiverPolicy:
    name: str
    send_resolved: bool = True
    repeat_interval_seconds: float = 0.0  # 0: the [alerts] repeat_interval_seconds
    resend_resolved_seconds: float = 0.0


@dataclass(frozen=True)
class GroupTiming:
    group_by: tuple[str, ...] = ("cluster",)
    group_wait_seconds: float = 0.0
    group_interval_seconds: float = 0.0
    external_url: str = ""


@dataclass(frozen=True)
class Plan:
    groups: dict[tuple[str, str], GroupRecord]
    notifications: list[Notification]


def _notice(rec: AlertRecord, status: str) -> AlertNotice:
    assert rec.starts_at is not None
    return AlertNotice(
        rec.fingerprint,
        rec.dedup_key,
        status,
        dict(rec.labels),
        rec.notice_annotations(),
        rec.starts_at,
        rec.ends_at if status == RESOLVED else None,
    )


def plan(
    records: Mapping[str, AlertRecord],
    groups: Mapping[tuple[str, str], GroupRecord],
    receivers: Sequence[ReceiverPolicy],
    routed: Callable[[AlertRecord], Collection[str]],
    muted: Collection[str],
    timing: GroupTiming,
    now: dt.datetime,
    has_pending: Callable[[str, str], bool] = lambda receiver, key: False,
) -> Plan:
    out: dict[tuple[str, str], GroupRecord] = {}
    notes: list[Notification] = []
    for rc in receivers:
        members: dict[str, list[AlertRecord]] = {}
        labels_of: dict[str, dict[str, str]] = {}
        for rec in records.values():
            if rec.state == "pending" or rc.name not in routed(rec):
                continue
            glabels = {k: rec.labels.get(k, "") for k in timing.group_by}
            key = group_key(glabels)
            members.setdefault(key, []).append(rec)
            labels_of[key] = glabels
        keys = set(members) | {k for (r, k) in groups if r == rc.name}
        for key in sorted(keys):
            old = groups.get((rc.name, key)) or GroupRecord(rc.name, key, labels_of.get(key, {}))
            group, note = _decide(old, members.get(key, []), rc, muted, timing, now, has_pending)
            if group.notified or group.changed_at:
                out[(rc.name, key)] = group
            if note is not None:
                notes.append(note)
    return Plan(out, notes)


def _decide(
    g: GroupRecord,
    members: list[AlertRecord],
    rc: ReceiverPolicy,
    muted: Collection[str],
    timing: GroupTiming,
    now: dt.datetime,
    has_pending: Callable[[str, str], bool],
) -> tuple[GroupRecord, Notification | None]:
    by_fp = {r.fingerprint: r for r in members}
    # forget what no longer exists (pruned, or routed elsewhere after a reload)
    notified = {fp: s for fp, s in g.notified.items() if fp in by_fp}
    was_firing = {fp for fp, s in notified.items() if s == FIRING}
    firing = [r for r in members if r.state == FIRING and r.fingerprint not in muted]
    new_firing = [r for r in firing if r.fingerprint not in was_firing]
    resolved = [r for r in members if r.state == RESOLVED and r.fingerprint in was_firing]
    changed = bool(new_firing or resolved)
    changed_at = (g.changed_at or now) if changed else None
    resend = dt.timedelta(seconds=rc.resend_resolved_seconds)
    recent = [
        r
        for r in members
        if r.state == RESOLVED
        and notified.get(r.fingerprint) == RESOLVED
        and resend
        and r.ends_at is not None
        and now - r.ends_at <= resend
    ]
    last = g.last_notified_at
    if changed:
        quiet = not was_firing or last is None
        ref, wait = (
            (changed_at, timing.group_wait_seconds)
            if quiet
            else (last, timing.group_interval_seconds)
        )
        due = (now - ref).total_seconds() >= wait
        reason = "change"
    else:
        due = (
            bool(firing or recent)
            and last is not None
            and ((now - last).total_seconds() >= rc.repeat_interval_seconds)
            and not has_pending(rc.name, g.key)
        )
        reason = "repeat"
    if not due:
        return replace(g, notified=notified, changed_at=changed_at), None
    alerts = [_notice(r, FIRING) for r in firing]
    if rc.send_resolved:
        alerts += [_notice(r, RESOLVED) for r in (*resolved, *recent)]
    for r in firing:
        notified[r.fingerprint] = FIRING
    for r in resolved:
        notified[r.fingerprint] = RESOLVED
    group = replace(g, notified=notified, last_notified_at=now, changed_at=None)
    if not alerts:
        return group, None
    alerts.sort(key=lambda a: (a.status != FIRING, a.labels.get("alertname", ""), a.fingerprint))
    note = Notification(
        rc.name, g.key, dict(g.labels), tuple(alerts), now, timing.external_url, reason
    )
    return group, note
