"""``/status``: the status page as one self-contained HTML document (inline CSS and SVG, no
script, no external asset), readable on a phone, printable.

Each day bar carries its figures twice: an SVG ``<title>`` (the hover) and a row of the
"daily figures" table (what a screen reader or a print reads). Elements carry ``data-*``
attributes with the raw figures, so tests read the DOM a browser built."""

from __future__ import annotations

import datetime as dt
from html import escape
from zoneinfo import ZoneInfo

from monitor.ledger.timebase import US, from_us
from monitor.status.model import (
    ClusterStatus,
    Day,
    ServiceStatus,
    StatusPage,
    Upcoming,
    state_words,
)
from monitor.status.render_json import failover_dict, incident_dict

COLORS = {
    "up": "#2e9e5b",
    "partial": "#e8a317",
    "outage": "#d93b3b",
    "maintenance": "#3b7dd8",
    "unknown": "#8c8c8c",
    "nodata": "#d9d9d9",
}
DAY_LABELS = {
    "up": "no counted downtime",
    "partial": "some counted downtime",
    "outage": "counted downtime over the objective's allowance",
    "maintenance": "planned maintenance",
    "unknown": "mostly unknown (the monitor could not see)",
    "nodata": "no data (before or after the monitor's records)",
}
STATE_COLORS = {
    "up": "up", "degraded": "partial", "down": "outage", "unknown": "unknown",
    "maintenance": "maintenance",
}  # fmt: skip
BAR_W, BAR_GAP, BAR_H = 8, 2, 34

CSS = """
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d1d1f;
margin:0;background:#f6f7f9}
main{max-width:960px;margin:0 auto;padding:16px}
h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.25em;margin:1.2em 0 .4em}
h3{font-size:1.05em;margin:0}h3.sub{margin-top:.9em}
.meta{color:#555;font-size:.9em}
.card{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:12px 14px;
margin:10px 0;break-inside:avoid}
.head{display:flex;flex-wrap:wrap;justify-content:space-between;gap:6px;align-items:baseline}
.state{font-weight:600;padding:2px 8px;border-radius:12px;color:#fff;white-space:nowrap}
.figures{display:flex;flex-wrap:wrap;gap:6px 22px;margin:8px 0;font-size:.92em}
.figures b{font-size:1.1em}
svg.days{width:100%;height:34px;display:block;margin:6px 0 0}
.axis{display:flex;justify-content:space-between;color:#666;font-size:.8em}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:.8em;color:#444;margin:10px 0}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px;
vertical-align:-1px}
table{border-collapse:collapse;width:100%;font-size:.88em;margin:6px 0}
th,td{text-align:left;padding:3px 6px;border-bottom:1px solid #eee;vertical-align:top}
details{margin:6px 0;font-size:.9em}
.none{color:#666;font-size:.9em;margin:4px 0}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
@media (max-width:600px){
main{padding:10px}body{font-size:14px}
table.stack thead{display:none}
table.stack tr{display:block;border-bottom:1px solid #ddd;padding:4px 0}
table.stack td{display:block;border:0;padding:1px 4px}
table.stack td::before{content:attr(data-label) ": ";color:#666}
}
@media print{
body{background:#fff;font-size:11pt}main{max-width:none;padding:0}
.card{border-color:#999}details{display:block}details>*{display:block}
.state,.legend i,svg.days rect{-webkit-print-color-adjust:exact;print-color-adjust:exact}
}
"""


def render_html(page: StatusPage) -> bytes:
    tz = ZoneInfo(page.timezone)
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(page.title)}</title><style>{CSS}</style></head><body><main>",
        f"<h1>{escape(page.title)}</h1>",
        f'<p class="meta" data-generated="{_iso(page.generated_at)}">'
        + (f"Customer {escape(page.customer)}. " if page.customer else "")
        + f"As of {_when(page.generated_at, tz)}; month to date "
        f"{_when(page.period_start, tz)} to {_when(page.period_end, tz)} "
        f"({escape(page.timezone)}). Maintenance and time the monitor could not see are "
        "not counted as downtime.</p>",
        _legend(),
    ]
    for cluster in page.clusters:
        parts.append(_cluster(cluster, page, tz))
    parts.append("</main></body></html>\n")
    return "\n".join(parts).encode()


def _legend() -> str:
    items = "".join(
        f'<span><i style="background:{COLORS[k]}"></i>{escape(v)}</span>'
        for k, v in DAY_LABELS.items()
    )
    return f'<div class="legend" aria-label="Colours of the daily bars">{items}</div>'


def _cluster(c: ClusterStatus, page: StatusPage, tz: ZoneInfo) -> str:
    who = f" ({escape(c.customer)})" if c.customer and not page.customer else ""
    out = [
        f'<section class="cluster" data-cluster="{escape(c.name)}">',
        f"<h2>Cluster {escape(c.name)}{who}</h2>",
    ]
    if c.first_data is None:
        out.append('<p class="none">The monitor has no records of this cluster yet.</p>')
    for s in c.services:
        out.append(_service(c, s, page, tz))
    out.append('<div class="card"><h3>Announced maintenance</h3>')
    out.append(_windows(c.upcoming, "window", tz) or '<p class="none">None announced.</p>')
    if c.recent:
        out.append(
            '<h3 class="sub">Recent maintenance</h3>' + _windows(c.recent, "window past", tz)
        )
    out.append("</div></section>")
    return "\n".join(out)


def _windows(items: tuple[Upcoming, ...], cls: str, tz: ZoneInfo) -> str:
    if not items:
        return ""
    rows = "".join(
        f'<tr class="{cls}"><td data-label="Start">{_when(u.start, tz)}</td>'
        f'<td data-label="End">{_when(u.end, tz)}</td>'
        f'<td data-label="Services">{escape(", ".join(u.services))}</td>'
        f'<td data-label="Reason">{escape(u.reason) or "not given"}</td></tr>'
        for u in items
    )
    return (
        '<table class="stack maintenance"><thead><tr><th>Start</th><th>End</th>'
        f"<th>Services</th><th>Reason</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _service(c: ClusterStatus, s: ServiceStatus, page: StatusPage, tz: ZoneInfo) -> str:
    p = s.period
    b, budget = p.breakdown, p.budget
    availability = b.availability
    words = state_words(s.state, s.active_role)
    if s.active_host and not page.public and s.state in ("up", "degraded"):
        words += f" on {s.active_host}"
    since = f" since {_when(s.since, tz)}" if s.since is not None else ""
    colour = COLORS[STATE_COLORS.get(s.state, "unknown")]
    avail_text = "no data yet" if availability is None else f"{availability * 100:.3f} %"
    left = budget.remaining_seconds
    left_text = f"{_duration(max(left, 0.0))} of {_duration(budget.allowed_seconds)}" + (
        f" (overspent by {_duration(-left)})" if left < 0 else ""
    )
    figures = (
        f'<div class="figures"><span>Month to date: <b class="availability">{avail_text}</b>'
        f" (objective {p.objective * 100:g} %)</span>"
        f'<span>Error budget left: <b class="budget">{left_text}</b></span>'
        f"<span>Counted downtime: {_duration(b.downtime_us / US)}</span>"
        f"<span>Maintenance: {_duration(b.maintenance_us / US)}</span>"
        f"<span>Not seen: {_duration(b.unknown_us / US)}</span></div>"
    )
    data = (
        f'data-service="{s.service}" data-state="{s.state}" '
        f'data-availability-percent="{"" if availability is None else availability * 100!r}" '
        f'data-downtime-seconds="{b.downtime_us / US!r}" '
        f'data-error-budget-remaining-seconds="{budget.remaining_seconds!r}"'
    )
    return "\n".join([
        f'<div class="card service" {data}>',
        f'<div class="head"><h3>{escape(c.name)} / {s.service}</h3>'
        f'<span class="state" style="background:{colour}">{escape(words)}</span></div>',
        f'<p class="meta">{escape(words)}{since}.</p>' if since else "",
        figures,
        _bars(s, tz),
        _day_table(s),
        _incidents(s, page.public, tz),
        _failovers(s, page.public, tz),
        "</div>",
    ])  # fmt: skip


def _bars(s: ServiceStatus, tz: ZoneInfo) -> str:
    n = len(s.days)
    width = n * (BAR_W + BAR_GAP) - BAR_GAP
    rects = []
    for i, d in enumerate(s.days):
        x = i * (BAR_W + BAR_GAP)
        rects.append(
            f'<rect class="day {d.kind}" x="{x}" y="0" width="{BAR_W}" height="{BAR_H}" rx="1.5" '
            f'fill="{COLORS[d.kind]}" data-date="{d.date.isoformat()}" data-kind="{d.kind}" '
            f'data-downtime-seconds="{_num(d, "downtime_us")}">'
            f"<title>{escape(_day_text(d))}</title></rect>"
        )
    first, last = s.days[0].date, s.days[-1].date
    return (
        f'<svg class="days" viewBox="0 0 {width} {BAR_H}" preserveAspectRatio="none" '
        f'role="img" aria-label="{n} days of {s.service}, {first} to {last}; '
        f'figures in the table below">{"".join(rects)}</svg>'
        f'<div class="axis"><span>{n} days ago</span><span>today</span></div>'
    )


def _num(d: Day, field: str) -> str:
    return "" if d.breakdown is None else repr(getattr(d.breakdown, field) / US)


def _day_text(d: Day) -> str:
    b = d.breakdown
    if b is None:
        return f"{d.date}: no data"
    availability = b.availability
    avail = "no watched time" if availability is None else f"{availability * 100:.3f} % available"
    return (
        f"{d.date}: {avail}, counted downtime {_duration(b.downtime_us / US)}, "
        f"maintenance {_duration(b.maintenance_us / US)}, "
        f"not seen {_duration(b.unknown_us / US)}"
    )


def _day_table(s: ServiceStatus) -> str:
    rows = "".join(
        f'<tr data-date="{d.date}"><td>{d.date}</td><td>{escape(DAY_LABELS[d.kind])}</td>'
        f"<td>{escape(_day_text(d).split(': ', 1)[1])}</td></tr>"
        for d in reversed(s.days)
    )
    return (
        f"<details><summary>Daily figures ({len(s.days)} days)</summary>"
        '<table class="daily"><thead><tr><th>Day</th><th>Colour</th><th>Figures</th></tr>'
        f"</thead><tbody>{rows}</tbody></table></details>"
    )


def _incidents(s: ServiceStatus, public: bool, tz: ZoneInfo) -> str:
    if not s.incidents:
        return '<p class="none">No incidents in these days.</p>'
    rows = []
    for i in s.incidents:
        d = incident_dict(i, public)
        end = "ongoing" if i.ongoing else _when(i.end, tz)
        cause = "" if public else f'<td data-label="Cause">{escape(d["cause"])}</td>'
        rows.append(
            f'<tr class="incident" data-start="{d["start"]}" '
            f'data-duration-seconds="{d["duration_seconds"]!r}" '
            f'data-downtime-seconds="{d["downtime_seconds"]!r}">{cause}'
            f'<td data-label="Start">{_when(i.start, tz)}</td><td data-label="End">{end}</td>'
            f'<td data-label="Duration">{_duration(d["duration_seconds"])}</td>'
            f'<td data-label="Counted">{_duration(d["downtime_seconds"])}</td></tr>'
        )
    head = "" if public else "<th>Cause</th>"
    return (
        f'<h3>Incidents ({len(rows)})</h3><table class="stack incidents"><thead><tr>{head}'
        "<th>Start</th><th>End</th><th>Duration</th><th>Counted downtime</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _failovers(s: ServiceStatus, public: bool, tz: ZoneInfo) -> str:
    if not s.failovers:
        return ""
    over = sum(1 for f in s.failovers if f.cause == "failover")
    back = sum(1 for f in s.failovers if f.cause == "failback")
    rows = "".join(
        f'<tr class="failover" data-kind="{escape(d["kind"])}"><td data-label="At">'
        f'{_when(f.at, tz)}</td><td data-label="Kind">{escape(d["kind"])}</td>'
        f'<td data-label="From">{escape(d["from"])}</td>'
        f'<td data-label="To">{escape(d["to"])}</td></tr>'
        for f in s.failovers
        for d in [failover_dict(f, public)]
    )
    return (
        f"<details><summary>Failovers: {over}, failbacks: {back}</summary>"
        '<table class="stack failovers"><thead><tr><th>At</th><th>Kind</th><th>From</th>'
        f"<th>To</th></tr></thead><tbody>{rows}</tbody></table></details>"
    )


def _when(us: int, tz: ZoneInfo) -> str:
    local = from_us(us).astimezone(tz)
    zone = escape(local.tzname() or "")
    return f'<time datetime="{_iso(us)}">{local:%Y-%m-%d %H:%M} {zone}</time>'


def _iso(us: int) -> str:
    return from_us(us).astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _duration(seconds: float) -> str:
    """1 h 02 min; 45 s; 2 d 3 h."""
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m} min {s:02d} s" if s else f"{m} min"
    h, m = divmod(m, 60)
    if h < 48:
        return f"{h} h {m:02d} min"
    d, h = divmod(h, 24)
    return f"{d} d {h} h"
