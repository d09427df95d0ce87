"""One alert's life: pending (``for_seconds``), firing, resolved; held while unknowable;
marked while it flaps. Pure: records are immutable and time comes in as ``now``.

Flapping never hides the settled state. The health layer's hysteresis already confirms every
change over ``recovery_threshold`` rounds, so a flapping alert resolves at the round that
confirms recovery, like any other (plus ``flap_hold_seconds``, 0 by default: a site may
trade a later resolve for fewer resolve/re-fire pairs), and a new firing is never held. What
flapping changes is the notice: it says the alert is flapping, so the on-call engineer
expects it back.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from monitor.alerting.model import FIRING, RESOLVED, dedup_key, fingerprint, iso, parse_iso
from monitor.alerting.rules import Candidate

PENDING = "pending"


@dataclass(frozen=True)
class AlertRecord:
    fingerprint: str
    cluster: str
    alertname: str
    instance: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    state: str  # pending | firing | resolved
    active: bool  # the condition, at the last evaluation that could tell
    active_since: dt.datetime | None = None
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None
    quiet_since: dt.datetime | None = None  # firing, condition false, held for flapping
    changes: tuple[dt.datetime, ...] = ()  # condition changes within the flap window
    flapping: bool = False  # at the last evaluation: changes reached the flap threshold

    @property
    def dedup_key(self) -> str:
        return dedup_key(self.cluster, self.alertname, self.instance)

    @property
    def service(self) -> str:
        return self.labels.get("service", "")

    def notice_annotations(self) -> dict[str, str]:
        """The annotations a notice carries: the rule's, plus a word on flapping, in the
        ``description`` (every receiver shows it) and as ``flapping`` (for machines)."""
        annotations = dict(self.annotations)
        if self.flapping:
            annotations["flapping"] = "true"
            note = (
                f"This alert is flapping: its condition changed {len(self.changes)} times "
                "within the flap window, so it may change again soon."
            )
            described = annotations.get("description", "")
            annotations["description"] = f"{described} {note}".strip()
        return annotations

    def to_json(self) -> str:
        return json.dumps(
            {
                "labels": dict(self.labels),
                "annotations": dict(self.annotations),
                "state": self.state,
                "active": self.active,
                "active_since": _t(self.active_since),
                "starts_at": _t(self.starts_at),
                "ends_at": _t(self.ends_at),
                "quiet_since": _t(self.quiet_since),
                "changes": [iso(c) for c in self.changes],
                "flapping": self.flapping,
            },
            sort_keys=True,
        )

    @classmethod
    def from_row(
        cls, fp: str, cluster: str, alertname: str, instance: str, text: str
    ) -> AlertRecord:
        d: dict[str, Any] = json.loads(text)
        return cls(
            fp,
            cluster,
            alertname,
            instance,
            d["labels"],
            d["annotations"],
            d["state"],
            d["active"],
            parse_iso(d["active_since"]),
            parse_iso(d["starts_at"]),
            parse_iso(d["ends_at"]),
            parse_iso(d["quiet_since"]),
            tuple(t for c in d["changes"] if (t := parse_iso(c)) is not None),
            bool(d.get("flapping", False)),  # absent in rows written before it existed
        )


def _t(when: dt.datetime | None) -> str | None:
    return iso(when) if when else None


@dataclass(frozen=True)
class Timing:
    for_seconds: float = 0.0
    flap_window_seconds: float = 1800.0
    flap_threshold: int = 4
    flap_hold_seconds: float = 0.0


def new_record(cluster: str, c: Candidate) -> AlertRecord:
    return AlertRecord(
        fingerprint(cluster, c.alertname, c.instance),
        cluster,
        c.alertname,
        c.instance,
        dict(c.labels),
        dict(c.annotations),
        RESOLVED,
        False,
    )


def advance(
    rec: AlertRecord, candidate: Candidate | None, timing: Timing, now: dt.datetime
) -> AlertRecord | None:
    """The record after one evaluation in which the condition was ``candidate is not None``.
    ``None``: forget it (a pending alert whose condition went away)."""
    window = dt.timedelta(seconds=timing.flap_window_seconds)
    changes = tuple(c for c in rec.changes if now - c < window)
    active = candidate is not None
    if active != rec.active:
        changes = (*changes, now)
    flapping = 0 < timing.flap_threshold <= len(changes)
    rec = replace(rec, changes=changes, active=active, flapping=flapping)
    if candidate is not None:
        rec = replace(
            rec,
            labels=dict(candidate.labels),
            annotations=dict(candidate.annotations),
            quiet_since=None,
        )
        if rec.state == RESOLVED:
            rec = replace(
                rec, state=PENDING, active_since=candidate.since, starts_at=None, ends_at=None
            )
        if rec.state == PENDING:
            assert rec.active_since is not None
            held_for = (now - rec.active_since).total_seconds()
            if held_for >= timing.for_seconds:
                rec = replace(rec, state=FIRING, starts_at=rec.active_since)
        return rec
    if rec.state == PENDING:
        return None
    if rec.state == FIRING:
        if rec.flapping and timing.flap_hold_seconds > 0:
            # Held to collapse a quick resolve/re-fire pair; it ends when it went quiet.
            quiet = rec.quiet_since or now
            if (now - quiet).total_seconds() < timing.flap_hold_seconds:
                return replace(rec, quiet_since=quiet)
            return replace(rec, state=RESOLVED, ends_at=quiet, quiet_since=None)
        return replace(rec, state=RESOLVED, ends_at=now, quiet_since=None)
    return rec
