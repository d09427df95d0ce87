"""The provider-neutral notification: what the engine decides to say, and what every
receiver module turns into its own payload. Plain immutable values with a JSON form, so a
notification can wait in the outbox across restarts."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

FIRING = "firing"
RESOLVED = "resolved"
ZERO_TIME = "0001-01-01T00:00:00Z"  # what Alertmanager puts in endsAt of a firing alert


def fingerprint(cluster: str, alertname: str, instance: str) -> str:
    """The dedup key's stable hash: the same alert gets the same value after a restart."""
    digest = hashlib.sha256(f"{cluster}\0{alertname}\0{instance}".encode()).hexdigest()
    return digest[:16]


def dedup_key(cluster: str, alertname: str, instance: str) -> str:
    """The readable dedup key (PagerDuty shows it): ``prod/SlurmctldDown/slurmctld``."""
    return "/".join(p for p in (cluster, alertname, instance) if p)


def iso(when: dt.datetime | None) -> str:
    if when is None:
        return ZERO_TIME
    return when.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def parse_iso(text: str | None) -> dt.datetime | None:
    if not text or text == ZERO_TIME:
        return None
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True)
class AlertNotice:
    """One alert inside a notification."""

    fingerprint: str
    dedup_key: str
    status: str  # firing | resolved
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    starts_at: dt.datetime
    ends_at: dt.datetime | None = None  # None while firing

    @property
    def alertname(self) -> str:
        return self.labels.get("alertname", "")

    @property
    def severity(self) -> str:
        return self.labels.get("severity", "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "dedup_key": self.dedup_key,
            "status": self.status,
            "labels": dict(sorted(self.labels.items())),
            "annotations": dict(sorted(self.annotations.items())),
            "starts_at": iso(self.starts_at),
            "ends_at": iso(self.ends_at) if self.ends_at else None,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AlertNotice:
        starts = parse_iso(d["starts_at"])
        assert starts is not None
        return cls(
            d["fingerprint"],
            d["dedup_key"],
            d["status"],
            dict(d["labels"]),
            dict(d["annotations"]),
            starts,
            parse_iso(d.get("ends_at")),
        )


@dataclass(frozen=True)
class Notification:
    """One message to one receiver about one group of alerts (a cluster, by default)."""

    receiver: str
    group_key: str  # Alertmanager style: '{}:{cluster="prod"}'
    group_labels: Mapping[str, str]
    alerts: tuple[AlertNotice, ...]
    created_at: dt.datetime
    external_url: str = ""
    reason: str = "change"  # change | repeat | test

    @property
    def status(self) -> str:
        return FIRING if any(a.status == FIRING for a in self.alerts) else RESOLVED

    @property
    def firing(self) -> tuple[AlertNotice, ...]:
        return tuple(a for a in self.alerts if a.status == FIRING)

    def shifted(self, seconds: float) -> Notification:
        """The same notification with every time moved by ``seconds``."""
        by = dt.timedelta(seconds=seconds)
        alerts = tuple(
            replace(a, starts_at=a.starts_at + by, ends_at=a.ends_at and a.ends_at + by)
            for a in self.alerts
        )
        return replace(self, alerts=alerts, created_at=self.created_at + by)

    @property
    def resolved(self) -> tuple[AlertNotice, ...]:
        return tuple(a for a in self.alerts if a.status == RESOLVED)

    @property
    def common_labels(self) -> dict[str, str]:
        return _common([a.labels for a in self.alerts])

    @property
    def common_annotations(self) -> dict[str, str]:
        return _common([a.annotations for a in self.alerts])

    @property
    def is_test(self) -> bool:
        return self.reason == "test"

    def to_json(self) -> str:
        return json.dumps(
            {
                "receiver": self.receiver,
                "group_key": self.group_key,
                "group_labels": dict(sorted(self.group_labels.items())),
                "alerts": [a.to_dict() for a in self.alerts],
                "created_at": iso(self.created_at),
                "external_url": self.external_url,
                "reason": self.reason,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> Notification:
        d = json.loads(text)
        created = parse_iso(d["created_at"])
        assert created is not None
        return cls(
            d["receiver"],
            d["group_key"],
            dict(d["group_labels"]),
            tuple(AlertNotice.from_dict(a) for a in d["alerts"]),
            created,
            d.get("external_url", ""),
            d.get("reason", "change"),
        )


def _common(maps: list[Mapping[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    first = maps[0]
    return {k: v for k, v in sorted(first.items()) if all(m.get(k) == v for m in maps[1:])}


def group_key(group_labels: Mapping[str, str]) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(group_labels.items()))
    return "{}:{" + inner + "}"
