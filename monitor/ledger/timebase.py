"""Instants as integer microseconds since the Unix epoch (UTC), and calendar months.

Integers make every sum of durations exact: the parts of an interval add up to the
interval to the microsecond, whatever the number of spans.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

US = 1_000_000
MINUTE_US = 60 * US
HOUR_US = 60 * MINUTE_US
DAY_US = 24 * HOUR_US
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

# The trailing windows of the burn rates (SRE workbook multiwindow, multi-burn-rate alerts).
BURN_WINDOWS: dict[str, int] = {
    "5m": 5 * MINUTE_US,
    "30m": 30 * MINUTE_US,
    "1h": HOUR_US,
    "6h": 6 * HOUR_US,
    "1d": DAY_US,
    "3d": 3 * DAY_US,
}


def to_us(when: dt.datetime) -> int:
    """An aware datetime as microseconds since the epoch (exact: no float on the way)."""
    if when.tzinfo is None:
        raise ValueError(f"naive datetime {when.isoformat()}: times must be timezone-aware")
    delta = when - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * US + delta.microseconds


def from_us(us: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=us)


def iso(us: int) -> str:
    """ISO 8601 UTC with a ``Z``: ``2026-12-01T02:00:00Z``."""
    text = from_us(us).isoformat()
    return text.replace("+00:00", "Z")


def seconds(us: int) -> float:
    return us / US


def localize(naive: dt.datetime, tz: ZoneInfo) -> int:
    """A wall-clock time in ``tz`` as an instant. A time that does not exist (the hour
    skipped when DST starts) or exists twice (DST ends) resolves as PEP 495 ``fold=0``
    does: the offset in force before the change."""
    return to_us(naive.replace(tzinfo=tz, fold=0))


def month_bounds(year: int, month: int, tz: ZoneInfo) -> tuple[int, int]:
    """[first instant of the month, first instant of the next) in ``tz``: local midnight
    of the 1st, DST-correct (a March in Europe/Berlin is one hour short, an October one
    hour long)."""
    nxt = (year + 1, 1) if month == 12 else (year, month + 1)
    return (
        localize(dt.datetime(year, month, 1), tz),
        localize(dt.datetime(nxt[0], nxt[1], 1), tz),
    )


def month_containing(us: int, tz: ZoneInfo) -> tuple[int, int]:
    local = from_us(us).astimezone(tz)
    start, end = month_bounds(local.year, local.month, tz)
    # Right after an ambiguous local midnight the fold can put the instant before the
    # computed start; step back a month in that (sub-hour) case.
    if us < start:
        prev = (local.year - 1, 12) if local.month == 1 else (local.year, local.month - 1)
        return month_bounds(*prev, tz)
    if us >= end:
        nxt = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
        return month_bounds(*nxt, tz)
    return start, end


def parse_month(text: str) -> tuple[int, int]:
    """``YYYY-MM`` -> (year, month); ValueError otherwise."""
    m = re.fullmatch(r"(\d{4})-(\d{2})", text.strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ValueError(f"not a month (YYYY-MM): {text!r}")
    return int(m.group(1)), int(m.group(2))


def parse_instant(text: str) -> dt.datetime:
    """ISO 8601 with a UTC offset (``Z`` allowed) -> aware UTC datetime; a local time
    without an offset is ambiguous and rejected, as in the config file."""
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"not an ISO 8601 date-time: {text!r}") from None
    if value.tzinfo is None:
        raise ValueError(
            f"{text!r} needs a UTC offset (e.g. 2026-12-01T02:00:00Z): a local time is ambiguous"
        )
    return value.astimezone(dt.UTC)
