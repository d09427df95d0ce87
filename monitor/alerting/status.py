"""What the alert metrics show: one immutable value, rebuilt when asked from the engine's
firing counts, the sender's counters and the last outbox figures (never a query on scrape).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field


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
    firing: Mapping[tuple[str, str, str], int] = field(default_factory=dict)  # (cluster,
    # alertname, severity) -> alerts firing, muted ones included
    receivers: Mapping[str, ReceiverStatus] = field(default_factory=dict)
