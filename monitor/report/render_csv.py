"""``--format csv``: one ``service`` row per cluster and service (its status: met, at_risk,
breached or no_data; availability; credit owed), then one ``incident`` row per incident,
every cluster and service, in time order. Times ISO 8601 UTC, durations in seconds.

A report merged from replicas (HA) adds one ``disagreement`` row per interval where they
observed different states, after the incidents: ``cause`` holds every replica's view
(``a: down; b: up``) and ``status`` the state that counted."""

from __future__ import annotations

import csv
import io

from monitor.ledger.timebase import US, iso
from monitor.report import ha_text
from monitor.report.causes import readable
from monitor.report.model import Report

COLUMNS = (
    "month",
    "record",
    "cluster",
    "service",
    "start",
    "end",
    "duration_seconds",
    "downtime_seconds",
    "maintenance_seconds",
    "unknown_seconds",
    "ongoing",
    "cause",
    "cause_code",
    "status",
    "availability_percent",
    "credit_percent",
)


def _seconds(us: int) -> str:
    return f"{us / US:.6f}".rstrip("0").rstrip(".")


def render(report: Report) -> str:
    rows = []
    for s in report.services:
        for i in s.period.incidents:
            rows.append(
                (
                    i.start,
                    s.cluster,
                    s.service,
                    [
                        report.label,
                        "incident",
                        s.cluster,
                        s.service,
                        iso(i.start),
                        "" if i.ongoing else iso(i.end),
                        _seconds(i.duration_us),
                        _seconds(i.downtime_us),
                        _seconds(i.maintenance_us),
                        _seconds(i.unknown_us),
                        "true" if i.ongoing else "false",
                        readable(i.cause),
                        i.cause,
                        "",
                        "",
                        "",
                    ],
                )
            )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for s in report.services:
        availability = s.period.breakdown.availability
        writer.writerow(
            [report.label, "service", s.cluster, s.service, *[""] * 9, str(s.status)]
            + ["" if availability is None else f"{availability * 100:.6f}"]
            + ["" if s.credit is None else f"{s.credit.percent:g}"]
        )
    for *_, row in sorted(rows, key=lambda r: r[:3]):
        writer.writerow(row)
    for c in report.clusters if report.merged else ():
        for service, d in ha_text.disagreements(c):
            views = "; ".join(f"{name}: {state}" for name, state in d.views)
            writer.writerow(
                [report.label, "disagreement", c.name, service, iso(d.start), iso(d.end)]
                + [_seconds(d.duration_us), "", "", "", "", views, "", d.chosen, "", ""]
            )
    return out.getvalue()
