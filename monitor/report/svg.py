"""The HTML report's charts as inline SVG (no script, no external file): a month timeline
per service and the error budget's burn-down. Pure: data in, markup out, coordinates
rounded to 0.01 so the same report gives the same bytes.

The timeline is drawn in buckets two units wide (of a ``viewBox`` 1000 wide), each in
the colour of the worst kind of time inside it: a 20-second outage in a 30-day month is
1/130000 of the width and would vanish at its true size, yet it is what the reader looks
for. The markup stays bounded whatever the history (a service flapping all month is five
hundred rectangles, not ninety thousand)."""

from __future__ import annotations

import datetime as dt
import html
from bisect import bisect_right
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from monitor.ledger.timebase import from_us, localize
from monitor.report.model import BAND_KINDS, Band

COLORS = {
    "up": "#2f9e5f",
    "degraded": "#e0a800",
    "down": "#d43d3d",
    "maintenance": "#4a78c9",
    "unknown": "#a3a8ae",
}
NOT_YET = "#f1f3f5"
FAILOVER = "#343a40"
# A bucket takes the colour of the first kind present in it, in this order.
PRIORITY = ("down", "degraded", "unknown", "maintenance", "up")
WIDTH = 1000
BUCKET = 2.0  # viewBox units per timeline bucket: about 1.5 hours of a month, 0.4 mm on A4
FONT = 'font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif"'


def num(x: float) -> str:
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def day_starts(start: int, end: int, tz: ZoneInfo) -> list[tuple[int, int]]:
    """(instant, day of month) of each local midnight in [start, end)."""
    day = from_us(start).astimezone(tz).date()
    out = []
    while True:
        at = localize(dt.datetime(day.year, day.month, day.day), tz)
        if at >= end:
            return out
        if at >= start:
            out.append((at, day.day))
        day += dt.timedelta(days=1)


def buckets(bands: Sequence[Band], start: int, end: int, count: int) -> list[str | None]:
    """The kind shown in each of ``count`` equal buckets of [start, end) (None: no data)."""
    width = (end - start) / count
    present: list[set[str]] = [set() for _ in range(count)]
    for b in bands:
        first = int((b.start - start) / width)
        last = int((b.end - start - 1) / width)
        for i in range(max(first, 0), min(last, count - 1) + 1):
            present[i].add(b.kind)
    return [next((k for k in PRIORITY if k in p), None) for p in present]


def _axis_days(
    x0: float, w: float, start: int, end: int, tz: ZoneInfo, y: float, tick: float
) -> list[str]:
    out = []
    scale = w / (end - start)
    every = (end - start) < 10 * 24 * 3600 * 10**6  # a short view: every day has room
    for at, day in day_starts(start, end, tz):
        x = x0 + (at - start) * scale
        out.append(
            f'<line x1="{num(x)}" y1="{num(y - tick)}" x2="{num(x)}" y2="{num(y)}" '
            'stroke="#6c757d" stroke-width="1"/>'
        )
        if every or (day % 2 == 1 and day < 31):
            out.append(
                f'<text x="{num(x + 2)}" y="{num(y + 14)}" font-size="14" fill="#495057">'
                f"{day}</text>"
            )
    return out


def timeline(
    bands: Sequence[Band], month_start: int, month_end: int, data_end: int, tz: ZoneInfo,
    label: str, failovers: Sequence[int] = (),
) -> str:  # fmt: skip
    """The month as a bar: up, degraded, down, maintenance and unknown time, day ticks in
    the SLA time zone, a small triangle over each failover; after ``data_end`` (a partial
    month) the bar is left pale."""
    x0, w, y, h = 6.0, WIDTH - 12.0, 10.0, 34.0
    count = int(w / BUCKET)
    kinds = buckets(bands, month_start, month_end, count)
    parts = [
        f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} 70" '
        f'width="100%" role="img" aria-label="{html.escape(label)}" {FONT}>',
        f"<title>{html.escape(label)}</title>",
        f'<rect x="{num(x0)}" y="{num(y)}" width="{num(w)}" height="{num(h)}" fill="{NOT_YET}"/>',
    ]
    step = w / count
    i = 0
    while i < count:
        kind = kinds[i]
        j = i
        while j + 1 < count and kinds[j + 1] == kind:
            j += 1
        if kind is not None:
            parts.append(
                f'<rect class="{kind}" x="{num(x0 + i * step)}" y="{num(y)}" '
                f'width="{num((j - i + 1) * step)}" height="{num(h)}" fill="{COLORS[kind]}"/>'
            )
        i = j + 1
    if data_end < month_end:
        xe = x0 + (data_end - month_start) * w / (month_end - month_start)
        parts.append(
            f'<line x1="{num(xe)}" y1="{num(y - 2)}" x2="{num(xe)}" y2="{num(y + h + 2)}" '
            'stroke="#212529" stroke-width="1.5" stroke-dasharray="3 2"/>'
        )
    parts.append(
        f'<rect x="{num(x0)}" y="{num(y)}" width="{num(w)}" height="{num(h)}" fill="none" '
        'stroke="#495057" stroke-width="1"/>'
    )
    for at in failovers:
        x = x0 + (at - month_start) * w / (month_end - month_start)
        parts.append(
            f'<path class="failover" d="M{num(x - 4)},{num(y - 8)} L{num(x + 4)},{num(y - 8)} '
            f'L{num(x)},{num(y - 1)} Z" fill="{FAILOVER}"/>'
        )
    parts += _axis_days(x0, w, month_start, month_end, tz, y + h + 6, 6)
    parts.append("</svg>")
    return "\n".join(parts)


def legend() -> str:
    items = "".join(
        f'<span class="key"><i style="background:{COLORS[k]}"></i>{k}</span>' for k in BAND_KINDS
    )
    return (
        f'<div class="legend">{items}<span class="key"><i class="notyet"></i>not yet</span>'
        '<span class="key"><b class="failover">&#9660;</b> failover (not downtime)</span></div>'
    )


def _sample(knots: Sequence[tuple[int, int]], times: Sequence[int], at: int) -> float:
    """The piecewise-linear counted downtime at ``at`` (``times``: the knots' instants)."""
    i = bisect_right(times, at) - 1
    if i < 0:
        return float(knots[0][1])
    if i >= len(knots) - 1:
        return float(knots[-1][1])
    (t0, v0), (t1, v1) = knots[i], knots[i + 1]
    return v0 + (v1 - v0) * (at - t0) / (t1 - t0) if t1 > t0 else float(v1)


def burndown(
    knots: Sequence[tuple[int, int]], allowed_us: float, month_start: int, month_end: int,
    data_end: int, tz: ZoneInfo, label: str,
) -> str:  # fmt: skip
    """Error budget left over the month: the budget minus the counted downtime so far,
    against the even burn that would spend it exactly by the end (dashed). Below zero the
    budget is overspent (red)."""
    x0, x1, y0, y1 = 86.0, WIDTH - 10.0, 10.0, 170.0
    head = (
        f'<svg class="burndown" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} 198" '
        f'width="100%" role="img" aria-label="{html.escape(label)}" {FONT}>'
        f"<title>{html.escape(label)}</title>"
    )
    if allowed_us <= 0:
        note = "no error budget: the objective is 100 % or no time was eligible"
        return (
            f'{head}<rect x="{num(x0)}" y="{num(y0)}" width="{num(x1 - x0)}" '
            f'height="{num(y1 - y0)}" fill="{NOT_YET}" stroke="#ced4da"/>'
            f'<text x="{num((x0 + x1) / 2)}" y="{num((y0 + y1) / 2)}" text-anchor="middle" '
            f'font-size="14" fill="#495057">{note}</text></svg>'
        )
    used = knots[-1][1] if knots else 0
    low = min(0.0, allowed_us - used)
    span = allowed_us - low
    low -= span * 0.05  # room below the lowest point
    span = allowed_us - low

    def px(at: int) -> float:
        return x0 + (at - month_start) * (x1 - x0) / (month_end - month_start)

    def py(value: float) -> float:
        return y0 + (allowed_us - value) * (y1 - y0) / span

    parts = [head]
    parts.append(
        f'<rect x="{num(x0)}" y="{num(y0)}" width="{num(x1 - x0)}" height="{num(y1 - y0)}" '
        'fill="#ffffff" stroke="#ced4da"/>'
    )
    zero = py(0)
    if allowed_us - used < 0:
        parts.append(
            f'<rect x="{num(x0)}" y="{num(zero)}" width="{num(x1 - x0)}" '
            f'height="{num(y1 - zero)}" fill="#fbe9e9"/>'
        )
    if data_end < month_end:
        parts.append(
            f'<rect x="{num(px(data_end))}" y="{num(y0)}" width="{num(x1 - px(data_end))}" '
            f'height="{num(y1 - y0)}" fill="{NOT_YET}"/>'
        )
    placed: list[float] = []
    marks = [0.0, allowed_us, *([allowed_us - used] if used > allowed_us else []), allowed_us / 2]
    for value in marks:  # by importance
        y = py(value)
        if any(abs(y - other) < 16 for other in placed):
            continue  # no room for its label
        placed.append(y)
        parts.append(
            f'<line x1="{num(x0)}" y1="{num(y)}" x2="{num(x1)}" y2="{num(y)}" '
            f'stroke="{"#495057" if value == 0 else "#e9ecef"}" stroke-width="1"/>'
            f'<text x="{num(x0 - 6)}" y="{num(y + 4)}" text-anchor="end" font-size="12" '
            f'fill="#495057">{axis_label(value)}</text>'
        )
    parts.append(
        f'<line class="even-burn" x1="{num(x0)}" y1="{num(py(allowed_us))}" '
        f'x2="{num(x1)}" y2="{num(zero)}" stroke="#868e96" stroke-width="1.5" '
        'stroke-dasharray="6 4"/>'
    )
    parts += _axis_days(x0, x1 - x0, month_start, month_end, tz, y1 + 6, 6)
    points = _curve(knots, month_start, data_end, int(x1 - x0))
    color = COLORS["down"] if allowed_us - used < 0 else "#1f6f43"
    path = " ".join(f"{num(px(t))},{num(py(allowed_us - v))}" for t, v in points)
    parts.append(
        f'<polyline class="remaining" points="{path}" fill="none" stroke="{color}" '
        'stroke-width="2.5" stroke-linejoin="round"/>'
    )
    parts.append("</svg>")
    return "\n".join(parts)


def axis_label(us: float) -> str:
    """Short enough for the axis: ``44m 24s``, ``3h 41m``, ``-10d 6h``."""
    sign = "-" if us < 0 else ""
    total = int(round(abs(us) / 1_000_000))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{sign}{days}d {hours}h"
    if hours:
        return f"{sign}{hours}h {minutes:02d}m"
    if minutes:
        return f"{sign}{minutes}m {secs:02d}s"
    return f"{sign}{secs}s"


def _curve(
    knots: Sequence[tuple[int, int]], start: int, end: int, columns: int
) -> list[tuple[int, float]]:
    """The exact knots, or one sample per column when there are more knots than columns."""
    if not knots:
        return [(start, 0.0), (end, 0.0)]
    if len(knots) <= 2 * columns:
        return [(t, float(v)) for t, v in knots]
    step = (end - start) / columns
    times = [t for t, _ in knots]
    return [(start + round(i * step), _sample(knots, times, start + round(i * step)))
            for i in range(columns + 1)]  # fmt: skip
