"""``--format html``: one self-contained page (inline CSS and SVG, no script, nothing
fetched), readable on screen and printed on A4 (``@page``; a service's charts never split
across pages). Times in the SLA time zone, as in the Markdown report."""

from __future__ import annotations

import html
from zoneinfo import ZoneInfo

from monitor.ledger.timebase import US
from monitor.report import ha_text, svg, text
from monitor.report.model import ClusterSection, Report, ServiceSection
from monitor.report.status import Status

CSS = """
@page { size: A4; margin: 14mm 12mm 16mm 12mm;
  @bottom-right { content: "page " counter(page) " of " counter(pages);
                  font: 8pt sans-serif; color: #6c757d; } }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { font: 10.5pt/1.4 "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: #212529;
       max-width: 1060px; margin: 0 auto; padding: 28px 32px; background: #fff; }
h1 { font-size: 20pt; margin: 0 0 4px; }
h2 { font-size: 15pt; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 2px solid #dee2e6;
     break-after: avoid; }
h3 { font-size: 12pt; margin: 18px 0 6px; break-after: avoid; }
h4 { font-size: 10.5pt; margin: 14px 0 4px; color: #495057; break-after: avoid; }
p { margin: 4px 0; }
.sub { color: #495057; }
.partial { background: #fff3cd; border: 1px solid #e0a800; padding: 6px 10px; margin: 10px 0;
           border-radius: 4px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 10px; font-size: 9.5pt; }
thead { display: table-header-group; }
tr { break-inside: avoid; }
th, td { border-bottom: 1px solid #dee2e6; padding: 4px 6px; text-align: left;
         vertical-align: top; }
th { background: #f1f3f5; font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.t { white-space: nowrap; }
table.inputs td:first-child { width: 16%; color: #495057; }
table.summary { font-size: 9pt; } table.summary th { white-space: normal; }
code { font-size: 9pt; word-break: break-all; }
.pill { display: inline-block; font-size: 9pt; font-weight: 700; padding: 1px 8px;
        border-radius: 10px; vertical-align: middle; margin-left: 6px; }
.pill.met { background: #d3f0de; color: #1f6f43; }
.pill.breached { background: #f8d7d7; color: #a61e1e; }
.pill.atrisk { background: #fff3cd; color: #7a5a00; }
.observed { background: #e7f1ff; border: 1px solid #9ec5fe; padding: 6px 10px; margin: 8px 0;
            border-radius: 4px; }
.retro { color: #a61e1e; font-weight: 600; }
.pill.nodata { background: #e9ecef; color: #495057; }
.service { break-inside: avoid; margin: 12px 0 18px; padding: 10px 12px;
           border: 1px solid #dee2e6; border-radius: 6px; }
.service h3 { margin-top: 0; }
.kpis { display: flex; flex-wrap: wrap; gap: 6px 18px; margin: 4px 0 8px; }
.kpi { min-width: 110px; }
.kpi b { display: block; font-size: 12pt; }
.kpi span { font-size: 8.5pt; color: #6c757d; text-transform: uppercase; letter-spacing: .03em; }
figure { margin: 6px 0 2px; }
figcaption { font-size: 8.5pt; color: #6c757d; margin-bottom: 2px; }
svg { display: block; }
.legend { font-size: 8.5pt; color: #495057; margin: 2px 0 6px; }
.legend .key { margin-right: 14px; white-space: nowrap; }
.legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px;
            vertical-align: -1px; border: 1px solid rgba(0,0,0,.15); }
.legend i.notyet { background: #f1f3f5; }
.legend b.failover { font-size: 8pt; color: #343a40; margin-right: 2px; }
.none { color: #6c757d; font-style: italic; }
footer { margin-top: 28px; padding-top: 8px; border-top: 1px solid #dee2e6; color: #6c757d;
         font-size: 8.5pt; }
@media print {
  body { max-width: none; padding: 0; font-size: 9.5pt; }
  h2 { margin-top: 18px; }
  .cluster { break-before: page; } .cluster.first { break-before: auto; }
  table { font-size: 7.5pt; } th, td { padding: 3px 4px; }
  td.t { white-space: normal; } td.n.w { white-space: normal; }
  .kpi { min-width: 96px; } .kpi b { font-size: 10.5pt; }
  footer { display: none; }  /* in the page margin instead (@page @bottom-left) */
}
"""


def e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _table(head: list[str], rows: list[list[str]], numeric: str = "", cls: str = "") -> str:
    """Cells are escaped here; ``numeric``: one character per column, ``n`` right-aligns
    (numbers), ``t`` keeps a time on one line."""

    def kind(i: int) -> str:
        c = numeric[i : i + 1]
        return f' class="{c}"' if c in ("n", "t") else ""

    thead = "".join(f"<th{kind(i)}>{e(h)}</th>" for i, h in enumerate(head))
    body = "".join(
        "<tr>" + "".join(f"<td{kind(i)}>{e(c)}</td>" for i, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    attr = f' class="{cls}"' if cls else ""
    return f"<table{attr}><thead><tr>{thead}</tr></thead><tbody>{body}</tbody></table>"


_PILL = {Status.MET: "met", Status.AT_RISK: "atrisk", Status.BREACHED: "breached"}


def _pill(status: Status, words: str) -> str:
    return (
        f'<span class="pill {_PILL.get(status, "nodata")}" data-status="{status}">{e(words)}</span>'
    )


def _header(report: Report, tz: ZoneInfo) -> str:
    inputs, policy = report.inputs, report.inputs.policy
    parts = [
        f"<header><h1>SLA report {e(report.label)}</h1>",
        f'<p class="sub">Calendar month in {e(report.timezone)}: '
        f"{e(text.local_time(report.month_start, tz))} to "
        f"{e(text.local_time(report.month_end, tz))}.</p>",
    ]
    if report.partial:
        parts.append(
            '<p class="partial"><b>Partial: the month is not over.</b> Reported up to '
            f"{e(text.local_time(report.end, tz))}, the ledger's last record; the error "
            "budget is the whole month's.</p>"
        )
    if inputs.ledger_first is None:
        ledger = "none (the monitor recorded nothing for these clusters before the period's end)"
    else:
        ledger = f"{text.utc_time(inputs.ledger_first)} to {text.utc_time(inputs.ledger_last or 0)}"
    counting = text.counting(policy)
    rows = [
        ["ledger", e(ledger)],
        ["config", f"sha256 <code>{e(inputs.config_sha256)}</code>"],
        ["program", e(f"{inputs.program} {inputs.version}")],
        ["counting", e(counting)],
        *([["replicas", e(ha_text.merged_input(report))]] if report.merged else []),
    ]
    body = "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in rows)
    parts.append(f'<table class="inputs"><tbody>{body}</tbody></table>')
    parts.append(
        '<p class="sub">Availability = (eligible time &minus; downtime) / eligible time; '
        "eligible time is the period less maintenance"
        + (" and less unknown time" if policy.unknown_counts_as == "excluded" else "")
        + ". A failover is listed, not counted as downtime.</p></header>"
    )
    return "\n".join(parts)


def _summary(c: ClusterSection, partial: bool) -> str:
    head, rows = text.summary_rows(c, partial)
    return _table(head, rows, text.summary_align(c, partial, "n"), "summary")


def _credits(c: ClusterSection, tz: ZoneInfo) -> str:
    tables = text.credit_tables(c, tz)
    if tables is None:
        return ""
    (head, rows), (ehead, erows) = tables
    evidence = (
        _table(ehead, erows, "lttnl", "evidence")
        if erows
        else '<p class="none">No counted downtime.</p>'
    )
    return (
        "<h4>Service credit</h4>"
        + _table(head, rows, "lnnl", "credits")
        + '<p class="sub">Evidence: every incident with counted downtime.</p>'
        + evidence
    )


def _observed_view(s: ServiceSection, report: Report, tz: ZoneInfo, first: int | None) -> str:
    """The ledger's part of the month, drawn on its own when most of the month is before
    the ledger's first record (a month-wide bar would show it as a sliver)."""
    start, end = report.month_start, report.end
    if first is None or first <= start or (first - start) * 2 < end - start or end <= first:
        return ""
    name = f"{s.cluster} {s.service}"
    bar = svg.timeline(
        s.bands, first, end, end, tz, f"{name}: the observed period, {text.utc_time(first)} "
        f"to {text.utc_time(end)}", [f.at for f in s.period.failovers if first <= f.at < end],
    )  # fmt: skip
    return (
        '<figure class="observed-view"><figcaption>The observed period only: '
        f"{e(text.local_time(first, tz))} to {e(text.local_time(end, tz))}</figcaption>"
        f"{bar}</figure>"
    )


def _service(s: ServiceSection, report: Report, tz: ZoneInfo, first: int | None) -> str:
    p, b = s.period, s.period.breakdown
    failovers, failbacks = text.failover_counts(s)
    kpis = [
        ("objective", text.objective(p)),
        ("availability to date" if report.partial else "availability", text.availability(p)),
        ("downtime", text.duration(b.downtime_us)),
        ("maintenance", text.duration(b.maintenance_us)),
        ("unknown", text.duration(b.unknown_us)),
        ("error budget", text.duration(p.budget.allowed_seconds * US)),
        ("budget left", text.budget_remaining(p)),
        ("incidents", f"{len(p.incidents):,}"),
        ("failovers", f"{failovers:,}"),
        ("failbacks", f"{failbacks:,}"),
    ]
    if report.partial:
        kpis[2:2] = [
            ("month end at this rate", text.projected(s)),
            ("month end, no more downtime", text.best_case(s)),
        ]
    if s.credit is not None:
        kpis.append(
            ("credit if the month ended now" if report.partial else "credit owed", text.credit(s))
        )
    kpi = "".join(f'<div class="kpi"><span>{e(k)}</span><b>{e(v)}</b></div>' for k, v in kpis)
    name = f"{s.cluster} {s.service}"
    timeline = svg.timeline(
        s.bands, report.month_start, report.month_end, report.end, tz,
        f"{name}: the month as up, degraded, down, maintenance and unknown time",
        [f.at for f in p.failovers],
    )  # fmt: skip
    burn = svg.burndown(
        s.burn, p.budget.allowed_seconds * US, report.month_start, report.month_end,
        report.end, tz, f"{name}: error budget left over the month",
    )  # fmt: skip
    return (
        f'<div class="service"><h3>{e(s.service)} '
        f"{_pill(s.status, text.verdict(s, report.partial))}</h3>"
        f'<div class="kpis">{kpi}</div>'
        f"<figure><figcaption>The month, day by day ({e(report.timezone)})</figcaption>"
        f"{timeline}{svg.legend()}</figure>{_observed_view(s, report, tz, first)}"
        "<figure><figcaption>Error budget left (dashed: an even burn that spends it "
        f"exactly by the end)</figcaption>{burn}</figure></div>"
    )


def _lists(c: ClusterSection, tz: ZoneInfo) -> str:
    out = []
    incidents, hidden, note = text.incidents(c)
    out.append("<h4>Incidents</h4>")
    out.append(f'<p class="none">{e(note)}</p>' if hidden else "")
    out.append(
        _table(
            *text.incident_table(incidents, tz),
            "lttnnl",
        )
        if incidents
        else '<p class="none">No incidents.</p>'
    )
    failovers, hidden, note = text.failovers(c)
    out.append("<h4>Failovers (not downtime)</h4>")
    out.append(f'<p class="none">{e(note)}</p>' if hidden else "")
    out.append(
        _table(
            *text.failover_table(failovers, tz),
            "lt",
        )
        if failovers
        else '<p class="none">No failovers.</p>'
    )
    windows = c.maintenance()
    out.append("<h4>Maintenance windows</h4>")
    out.append(
        _table(
            *text.window_table(windows, tz),
            "tt",
        )
        if windows
        else '<p class="none">No maintenance windows.</p>'
    )
    unknown, hidden, note = text.unknown_periods(c)
    out.append("<h4>Monitor blind or absent (unknown time)</h4>")
    out.append(f'<p class="none">{e(note)}</p>' if hidden else "")
    out.append(
        _table(
            *text.unknown_table(unknown, tz),
            "ttn",
        )
        if unknown
        else '<p class="none">The monitor saw the whole period.</p>'
    )
    return "\n".join(x for x in out if x)


def _disagreements(c: ClusterSection, tz: ZoneInfo) -> str:
    head, rows = ha_text.disagreement_table(c, tz)
    table = _table(head, rows, "ttn") if rows else ""
    return f"<h4>{e(ha_text.TITLE)}</h4>" + (table or f'<p class="none">{e(ha_text.NONE)}</p>')


def _page_footer(report: Report) -> str:
    inputs = report.inputs
    words = f"SLA report {report.label}{' (partial)' if report.partial else ''} \u00b7 "
    words += f"{inputs.program} {inputs.version} \u00b7 config {inputs.config_sha256[:12]}"
    quoted = words.replace("\\", "\\\\").replace('"', '\\"')
    return (
        f'@page {{ @bottom-left {{ content: "{quoted}"; font: 8pt sans-serif; '
        "color: #6c757d; } }\n"
    )


def render(report: Report, *, title: str | None = None) -> str:
    tz = ZoneInfo(report.timezone)
    title = title or f"SLA report {report.label}"
    inputs = report.inputs
    body = [_header(report, tz)]
    if not report.clusters:
        body.append('<p class="none">No clusters.</p>')
    for n, c in enumerate(report.clusters):
        note = text.observed(c, report.month_start, report.end)
        customer = f'<p class="sub">Customer: {e(c.customer)}</p>' if c.customer else ""
        body.append(
            f'<section class="cluster{" first" if n == 0 else ""}">'
            f"<h2>Cluster {e(c.name)} {_pill(c.status, text.headline(c, report.partial))}</h2>"
            + customer
            + (f'<p class="observed">{e(note)}</p>' if note else "")
            + _summary(c, report.partial)
            + _credits(c, tz)
            + "".join(_service(s, report, tz, c.ledger_first) for s in c.services)
            + _lists(c, tz)
            + (_disagreements(c, tz) if report.merged else "")
            + "</section>"
        )
    body.append(
        f"<footer>{e(inputs.program)} {e(inputs.version)} &middot; config sha256 "
        f"{e(inputs.config_sha256[:16])}&hellip; &middot; SLA report {e(report.label)}"
        f"{' (partial)' if report.partial else ''}</footer>"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{e(title)}</title>\n"
        f'<meta name="generator" content="{e(inputs.program)} {e(inputs.version)}">\n'
        f"<style>{CSS}{_page_footer(report)}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )
