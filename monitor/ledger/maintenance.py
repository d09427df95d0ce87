"""Planned maintenance windows: the stored model and its occurrences (pure, no I/O).

A window is one-off, or repeats ``daily`` or ``weekly`` until ``until`` (inclusive: an
occurrence that starts at or before ``until`` happens). Repeats keep their local
wall-clock times in the window's time zone (the ``[sla] timezone`` when it was stored): a
weekly Sunday 02:00-04:00 Europe/Berlin window stays at 02:00 local across DST changes.

A removed window stops at its removal time (``effective_us``): an occurrence in progress
ends there and later ones never happen, while what already passed stays (history is not
rewritten). A purge (``effective_us`` None) removes it entirely, as if never planned.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from monitor.config import MaintenanceWindow
from monitor.ledger.timebase import DAY_US, from_us, iso, localize, to_us

PERIOD_DAYS = {"daily": 1, "weekly": 7}
_FOREVER = 1 << 62


@dataclass(frozen=True)
class StoredWindow:
    id: int
    origin: str  # config | cli
    start_us: int
    end_us: int
    clusters: tuple[str, ...] | None  # None: every cluster
    services: tuple[str, ...] | None  # None: every service
    reason: str
    repeat: str  # none | daily | weekly
    until_us: int | None
    timezone: str
    created_us: int
    created_by: str
    config_key: str | None = None
    removed_us: int | None = None  # when it was removed (audit time)
    removed_by: str | None = None
    removed_reason: str | None = None
    effective_us: int | None = None  # removed: occurrences stop here (None with removed: purged)

    @property
    def removed(self) -> bool:
        return self.removed_us is not None

    @property
    def cutoff_us(self) -> int | None:
        """Where the window's occurrences stop (None: they do not); a purge cuts at -inf."""
        if not self.removed:
            return None
        return self.effective_us if self.effective_us is not None else -_FOREVER

    def applies(self, cluster: str, service: str) -> bool:
        return (self.clusters is None or cluster in self.clusters) and (
            self.services is None or service in self.services
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "origin": self.origin,
            "start": iso(self.start_us),
            "end": iso(self.end_us),
            "clusters": list(self.clusters) if self.clusters is not None else None,
            "services": list(self.services) if self.services is not None else None,
            "reason": self.reason,
            "repeat": self.repeat,
            "until": iso(self.until_us) if self.until_us is not None else None,
            "timezone": self.timezone,
            "created_at": iso(self.created_us),
            "created_by": self.created_by,
            "removed_at": iso(self.removed_us) if self.removed_us is not None else None,
            "removed_by": self.removed_by,
            "removed_reason": self.removed_reason,
        }


def config_key(window: MaintenanceWindow) -> str:
    """A stable identity for a config-defined window: the same definition is mirrored
    once, an edited one is a new window (and the old one is retired from then on). The
    time zone is not part of it: a recurring window keeps the zone it was first stored
    with, so changing ``[sla] timezone`` never shifts past occurrences."""
    doc = {
        "start": to_us(window.start),
        "end": to_us(window.end),
        "clusters": sorted(window.clusters) if window.clusters is not None else None,
        "services": sorted(window.services) if window.services is not None else None,
        "reason": window.reason,
        "repeat": window.repeat,
        "until": to_us(window.until) if window.until is not None else None,
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:32]


def occurrences(window: StoredWindow, lo: int, hi: int) -> list[tuple[int, int]]:
    """The window's occurrences that overlap [lo, hi), clipped to neither, in order."""
    cutoff = window.cutoff_us
    out = []
    for start, end in _raw_occurrences(window, lo, hi):
        if cutoff is not None:
            if start >= cutoff:
                break
            end = min(end, cutoff)
        if end > lo and start < hi:
            out.append((start, end))
    return out


def _raw_occurrences(window: StoredWindow, lo: int, hi: int) -> Iterable[tuple[int, int]]:
    if window.repeat == "none":
        yield window.start_us, window.end_us
        return
    days = PERIOD_DAYS[window.repeat]
    period = days * DAY_US
    tz = ZoneInfo(window.timezone)
    first_start = from_us(window.start_us).astimezone(tz).replace(tzinfo=None)
    first_end = from_us(window.end_us).astimezone(tz).replace(tzinfo=None)
    # Wall-clock repeats drift from a fixed period by at most the DST shift: one period of
    # slack on each side finds every candidate.
    k_lo = max(0, (lo - window.end_us) // period - 1)
    k_hi = (hi - window.start_us) // period + 1
    for k in range(k_lo, max(k_lo, k_hi) + 1):
        shift = dt.timedelta(days=days * k)
        start = localize(first_start + shift, tz)
        if window.until_us is not None and start > window.until_us:
            return
        end = localize(first_end + shift, tz)
        if end > start:
            yield start, end


def merged_windows(
    windows: Sequence[StoredWindow], cluster: str, service: str, lo: int, hi: int
) -> list[tuple[int, int]]:
    """The union of every applicable occurrence overlapping [lo, hi), clipped to it, as
    disjoint sorted intervals (overlapping windows count once)."""
    spans = sorted(
        (max(s, lo), min(e, hi))
        for w in windows
        if w.applies(cluster, service)
        for s, e in occurrences(w, lo, hi)
    )
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if e <= s:
            continue
        if merged and s <= merged[-1][1]:
            if e > merged[-1][1]:
                merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return merged


def active_at(
    windows: Sequence[StoredWindow], cluster: str, service: str, at: int
) -> StoredWindow | None:
    """The window covering instant ``at`` for this service, if any (for alert policy)."""
    for w in windows:
        if w.applies(cluster, service) and occurrences(w, at, at + 1):
            return w
    return None


def validate(
    start: int,
    end: int,
    repeat: str,
    until: int | None,
    *,
    known_clusters: Iterable[str],
    clusters: Sequence[str] | None,
    services: Sequence[str] | None,
    all_services: Sequence[str],
) -> list[str]:
    """Problems with a window definition (the CLI checks what the config loader checks)."""
    problems = []
    if end <= start:
        problems.append(f"end {iso(end)} must be after start {iso(start)}")
    if repeat not in ("none", *PERIOD_DAYS):
        problems.append(f"repeat must be none, daily or weekly, not {repeat!r}")
    elif repeat != "none" and end - start >= PERIOD_DAYS[repeat] * DAY_US:
        problems.append(f"a {repeat} window must be shorter than its period")
    if until is not None:
        if repeat == "none":
            problems.append("--until needs --repeat daily or weekly")
        elif until < start:
            problems.append(f"until {iso(until)} is before start {iso(start)}")
    names = set(known_clusters)
    for name in clusters or ():
        if name not in names:
            problems.append(f"no cluster named {name!r} in the configuration")
    for name in services or ():
        if name not in all_services:
            problems.append(f"unknown service {name!r} (one of {', '.join(all_services)})")
    return problems
