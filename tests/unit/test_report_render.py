"""The renderers' pure pieces: causes in words, durations and truncated percentages, the
short list of a crash-looping month, and charts that stay small and show short outages."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from monitor.ledger.timebase import DAY_US, US, month_bounds
from monitor.report import svg, text
from monitor.report.causes import readable
from monitor.report.model import Band


def test_causes_read_as_words():
    assert [readable(c) for c in (
        "no_controller", "dbd_unreachable", "database_unreachable", "split_brain_protection",
        "blind", "monitor not running", "ledger resync: no_controller", "some_new_code",
    )] == [
        "both controllers down", "slurmdbd unreachable", "database unreachable",
        "split-brain protection (backup standby)", "monitor blind", "monitor not running",
        "both controllers down (recorded on resync)", "some new code",
    ]  # fmt: skip


def test_durations_and_percentages():
    assert [text.duration(s * US) for s in (0, 45, 750, 3 * 3600 + 130, 2 * 86400 + 1)] == [
        "0s", "45s", "12m 30s", "3h 02m 10s", "2d 00h 00m 01s",
    ]  # fmt: skip
    assert text.duration(-1374.3 * US) == "-22m 54s"
    # truncated, never rounded up to the objective it missed
    assert text.truncated_percent(999 * 10**6 - 1, 10**9) == "99.899 %"
    assert text.truncated_percent(999, 1000) == "99.900 %"
    assert text.truncated_percent(1, 1) == "100.000 %"
    assert [svg.axis_label(x * US) for x in (2664, 13282, -886406, 0)] == [
        "44m 24s", "3h 41m", "-10d 6h", "0s",
    ]  # fmt: skip


def test_most_keeps_order_and_counts_the_rest():
    items = list(range(10))
    assert text.most(items, lambda i: -i, limit=3) == ([7, 8, 9], 7)
    assert text.most(items, lambda i: 0, limit=3) == ([0, 1, 2], 7)  # ties: the first ones
    assert text.most(items, lambda i: 0, limit=20) == (items, 0)


def test_a_short_outage_shows_and_a_flapping_month_stays_small():
    tz = ZoneInfo("Europe/Berlin")
    start, end = month_bounds(2026, 10, tz)
    blip = start + 10 * DAY_US
    bands = [Band(start, blip, "up"), Band(blip, blip + 20 * US, "down"),
             Band(blip + 20 * US, end, "up")]  # fmt: skip
    kinds = svg.buckets(bands, start, end, 494)
    assert kinds.count("down") == 1 and kinds.count("up") == 493
    chart = svg.timeline(bands, start, end, end, tz, "t")
    assert len(re.findall(r'class="down"', chart)) == 1
    flapping = []
    t = start
    while t < end:  # down 20 s of every minute, all month
        flapping += [Band(t, t + 40 * US, "up"), Band(t + 40 * US, t + 60 * US, "down")]
        t += 60 * US
    chart = svg.timeline(flapping, start, end, end, tz, "t")
    assert len(chart) < 20_000 and chart.count("<rect") < 10
    knots = [(start + i * 60 * US, i * 20 * US) for i in range(44_000)]
    burn = svg.burndown(knots, 2_682 * US, start, end, end, tz, "b")
    assert len(burn) < 40_000  # one point per column, not per knot


def test_day_ticks_follow_the_sla_calendar():
    tz = ZoneInfo("Europe/Berlin")
    start, end = month_bounds(2026, 10, tz)
    days = svg.day_starts(start, end, tz)
    assert [d for _, d in days] == list(range(1, 32))
    assert days[0][0] == start and days[25][0] - days[24][0] == 25 * 3600 * US  # DST ends
