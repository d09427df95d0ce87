"""What the alert metrics show: one immutable value, rebuilt when asked from the engine's
firing alerts, the sender's counters and the last outbox figures (never a query on scrape).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, order=True)
class FiringAlert:
    """One firing alert instance: its labels ("" where one does not apply) and the
    fingerprint its notifications carry, which tells apart instances the labels do not."""

    cluster: str
    alertname: str
    severity: str
    service: str = ""
    daemon: str = ""
    host: str = ""
    role: str = ""
    urgency: str = ""
    fingerprint: str = ""


@dataclass(frozen=True)
class ReceiverStatus:
    sent_total: int = 0  # notifications delivered since the monitor started
    failed_total: int = 0  # failed attempts since the monitor started
    dead_total: int = 0  # notifications dead-lettered since the monitor started
    queued: int = 0  # pending in the outbox
    oldest_queued_at: dt.datetime | None = None
    dead_letters: int = 0  # dead letters held in the store


@dataclass(frozen=True)
class AlertingStatus:
    generated_at: dt.datetime
    firing: tuple[FiringAlert, ...] = ()  # muted ones included
    receivers: Mapping[str, ReceiverStatus] = field(default_factory=dict)
