"""Calendar months in the SLA time zone (DST-correct) and maintenance occurrences: one-off,
daily and weekly repeats that keep their local time across DST, until, removal."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from monitor.config import MaintenanceWindow
from monitor.ledger.maintenance import (
    StoredWindow,
    active_at,
    config_key,
    merged_windows,
    occurrences,
    validate,
)
from monitor.ledger.timebase import (
    DAY_US,
    HOUR_US,
    from_us,
    iso,
    month_bounds,
    month_containing,
    parse_instant,
    parse_month,
    to_us,
)

BERLIN = ZoneInfo("Europe/Berlin")
UTC = ZoneInfo("UTC")


def utc(*args: int) -> int:
    return to_us(dt.datetime(*args, tzinfo=dt.UTC))


def test_to_us_is_exact_and_round_trips():
    when = dt.datetime(2026, 3, 29, 0, 59, 59, 999999, tzinfo=dt.UTC)
    assert from_us(to_us(when)) == when
    assert to_us(dt.datetime(1970, 1, 1, 0, 0, 1, tzinfo=dt.UTC)) == 1_000_000
    with pytest.raises(ValueError, match="naive"):
        to_us(dt.datetime(2026, 1, 1))


def test_utc_months():
    start, end = month_bounds(2026, 2, UTC)
    assert (start, end) == (utc(2026, 2, 1), utc(2026, 3, 1))
    assert month_bounds(2026, 12, UTC)[1] == utc(2027, 1, 1)


def test_berlin_march_is_one_hour_short_and_october_one_hour_long():
    march = month_bounds(2026, 3, BERLIN)
    assert march == (utc(2026, 2, 28, 23), utc(2026, 3, 31, 22))
    assert march[1] - march[0] == 31 * DAY_US - HOUR_US
    october = month_bounds(2026, 10, BERLIN)
    assert october[1] - october[0] == 31 * DAY_US + HOUR_US


def test_month_containing_at_the_boundaries():
    start, end = month_bounds(2026, 4, BERLIN)  # 2026-03-31T22:00Z .. 2026-04-30T22:00Z
    assert month_containing(start, BERLIN) == (start, end)
    assert month_containing(start - 1, BERLIN) == month_bounds(2026, 3, BERLIN)
    assert month_containing(end - 1, BERLIN) == (start, end)
    assert month_containing(end, BERLIN) == month_bounds(2026, 5, BERLIN)
    # a zone whose DST change happens at midnight (Chile: 00:00 -> 01:00 in September)
    santiago = ZoneInfo("America/Santiago")
    s, e = month_bounds(2026, 9, santiago)
    assert month_containing(s, santiago) == (s, e)
    assert month_containing(e - 1, santiago) == (s, e)


def test_parse_month_and_instant():
    assert parse_month("2026-03") == (2026, 3)
    for bad in ("2026-13", "26-03", "2026/03"):
        with pytest.raises(ValueError):
            parse_month(bad)
    assert parse_instant("2026-12-01T02:00:00Z") == dt.datetime(2026, 12, 1, 2, tzinfo=dt.UTC)
    assert parse_instant("2026-12-01T03:00:00+01:00").hour == 2
    with pytest.raises(ValueError, match="UTC offset"):
        parse_instant("2026-12-01T02:00:00")


def window(start: int, end: int, repeat: str = "none", **kw) -> StoredWindow:
    base = dict(
        id=1, origin="cli", start_us=start, end_us=end, clusters=None, services=None,
        reason="", repeat=repeat, until_us=None, timezone="Europe/Berlin", created_us=0,
        created_by="test",
    )  # fmt: skip
    base.update(kw)
    return StoredWindow(**base)


def test_weekly_window_keeps_local_time_across_dst():
    # Sundays 02:00-04:00 Berlin, from 2026-03-22 (CET, UTC+1)
    w = window(utc(2026, 3, 22, 1), utc(2026, 3, 22, 3), "weekly")
    occ = occurrences(w, utc(2026, 3, 20), utc(2026, 4, 10))
    assert [iso(s) for s, _ in occ] == [
        "2026-03-22T01:00:00Z",  # CET
        "2026-03-29T01:00:00Z",  # DST day: 02:00 does not exist, resolved as 02:00 CET
        "2026-04-05T00:00:00Z",  # CEST: still 02:00 local
    ]
    assert occ[2][1] - occ[2][0] == 2 * HOUR_US
    assert from_us(occ[2][0]).astimezone(BERLIN).hour == 2


def test_daily_window_until_is_inclusive_and_removal_cuts():
    w = window(utc(2026, 1, 1, 1), utc(2026, 1, 1, 2), "daily", until_us=utc(2026, 1, 3, 1))
    assert len(occurrences(w, utc(2025, 12, 1), utc(2026, 2, 1))) == 3
    cut = window(
        utc(2026, 1, 1, 1), utc(2026, 1, 1, 2), "daily",
        removed_us=utc(2026, 1, 2, 1, 30), effective_us=utc(2026, 1, 2, 1, 30),
    )  # fmt: skip
    occ = occurrences(cut, utc(2025, 12, 1), utc(2026, 2, 1))
    assert occ == [
        (utc(2026, 1, 1, 1), utc(2026, 1, 1, 2)),
        (utc(2026, 1, 2, 1), utc(2026, 1, 2, 1, 30)),
    ]
    purged = window(utc(2026, 1, 1, 1), utc(2026, 1, 1, 2), "daily", removed_us=1)
    assert occurrences(purged, utc(2025, 12, 1), utc(2026, 2, 1)) == []


def test_unbounded_repeat_far_in_the_future_is_cheap_and_exact():
    w = window(utc(2020, 1, 6, 1), utc(2020, 1, 6, 2), "weekly", timezone="UTC")
    occ = occurrences(w, utc(2030, 1, 1), utc(2030, 1, 15))
    assert [from_us(s).weekday() for s, _ in occ] == [0, 0]


def test_merged_windows_filter_by_cluster_and_service_and_merge_overlaps():
    a = window(utc(2026, 1, 1, 1), utc(2026, 1, 1, 3), clusters=("prod",))
    b = window(utc(2026, 1, 1, 2), utc(2026, 1, 1, 4), services=("slurmdbd",))
    c = window(utc(2026, 1, 1, 5), utc(2026, 1, 1, 6), clusters=("test",))
    lo, hi = utc(2026, 1, 1), utc(2026, 1, 2)
    assert merged_windows([a, b, c], "prod", "slurmdbd", lo, hi) == [
        (utc(2026, 1, 1, 1), utc(2026, 1, 1, 4))
    ]
    assert merged_windows([a, b, c], "prod", "slurmctld", lo, hi) == [
        (utc(2026, 1, 1, 1), utc(2026, 1, 1, 3))
    ]
    assert active_at([a, b, c], "test", "slurmctld", utc(2026, 1, 1, 5, 30)) is c
    assert active_at([a, b, c], "test", "slurmctld", utc(2026, 1, 1, 6)) is None


def test_config_key_is_stable_and_changes_with_the_definition():
    w = MaintenanceWindow(
        dt.datetime(2026, 12, 1, 2, tzinfo=dt.UTC),
        dt.datetime(2026, 12, 1, 4, tzinfo=dt.UTC),
        reason="upgrade",
    )
    assert config_key(w) == config_key(MaintenanceWindow(w.start, w.end, reason="upgrade"))
    longer = MaintenanceWindow(w.start, w.end + dt.timedelta(hours=1), reason="upgrade")
    assert config_key(w) != config_key(longer)


def test_validate_lists_every_problem():
    problems = validate(
        10, 5, "daily", 1, known_clusters=["prod"], clusters=["nope"], services=["x"],
        all_services=("slurmctld", "slurmdbd"),
    )  # fmt: skip
    text = "\n".join(problems)
    assert "must be after start" in text and "no cluster named 'nope'" in text
    assert "unknown service 'x'" in text and "before start" in text
    problems = validate(0, 2 * DAY_US, "daily", None, known_clusters=[], clusters=None,
                        services=None, all_services=())  # fmt: skip
    assert problems == ["a daily window must be shorter than its period"]
