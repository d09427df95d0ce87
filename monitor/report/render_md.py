"""``--format md``: Markdown to paste into a ticket. Times in the SLA time zone (the
customer's calendar), durations to the second, availability truncated (see ``text``)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from monitor.report import ha_text, text
from monitor.report.model import ClusterSection, Report
from monitor.report.status import Status

# What a cell must not pass through from a maintenance reason or a `--by`: raw HTML (most
# Markdown renderers pass it on, so "<img onerror=...>" would run in a ticket) and link or
# code syntax. The HTML report shows the same text literally; so does this one.
_ESCAPES = str.maketrans(
    {
        "\\": "\\\\",
        "|": "\\|",
        "\n": " ",
        "\r": " ",
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        "[": "\\[",
        "]": "\\]",
        "`": "\\`",
    }
)


def cell(value: object) -> str:
    return str(value).translate(_ESCAPES).strip()


def table(head: list[str], rows: list[list[str]], align: str = "") -> list[str]:
    """``align``: one character per column, ``r`` for right-aligned."""
    marks = ["---:" if (align[i : i + 1] == "r") else "---" for i in range(len(head))]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(marks) + "|"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return lines


def header(report: Report) -> list[str]:
    tz = ZoneInfo(report.timezone)
    inputs = report.inputs
    policy = inputs.policy
    lines = [
        f"# SLA report {report.label}",
        "",
        f"Calendar month in {report.timezone}: {text.local_time(report.month_start, tz)} "
        f"to {text.local_time(report.month_end, tz)}.",
    ]
    if report.partial:
        lines += [
            "",
            f"**Partial: the month is not over.** Reported up to "
            f"{text.local_time(report.end, tz)}, the ledger's last record; the error budget is "
            "the whole month's.",
        ]
    if inputs.ledger_first is None:
        ledger = "none (the monitor recorded nothing for these clusters before the period's end)"
    else:
        ledger = f"{text.utc_time(inputs.ledger_first)} to {text.utc_time(inputs.ledger_last or 0)}"
    lines += [
        "",
        *table(
            ["input", "value"],
            [
                ["ledger", ledger],
                ["config", f"sha256 {inputs.config_sha256}"],
                ["program", f"{inputs.program} {inputs.version}"],
                ["counting", text.counting(policy)],
                *([["replicas", ha_text.merged_input(report)]] if report.merged else []),
            ],
        ),
        "",
        "Availability = (eligible time - downtime) / eligible time; eligible time is the "
        "period less maintenance"
        + (" and less unknown time" if policy.unknown_counts_as == "excluded" else "")
        + ". A failover is listed, not counted as downtime.",
    ]
    return lines


def cluster_section(
    c: ClusterSection,
    tz: ZoneInfo,
    partial: bool = False,
    period: tuple[int, int] = (0, 0),
    merged: bool = False,
) -> list[str]:
    lines = ["", f"## Cluster {c.name}: {text.headline(c, partial)}", ""]
    if c.customer:
        lines += [f"Customer: {cell(c.customer)}", ""]
    note = text.observed(c, *period)
    if note:
        lines += [f"**{note}**", ""]
    fo, fb = text.failover_counts(c)
    if fo or fb:
        lines += [f"Failovers: {fo}; failbacks: {fb} (neither counts as downtime).", ""]
    head, rows = text.summary_rows(c, partial)
    lines += table(head, rows, text.summary_align(c, partial))
    if partial:
        lines += [""] + [
            f"{s.service}: month end at this rate {text.projected(s)}; with no more "
            f"downtime {text.best_case(s)}."
            for s in c.services
            if s.status is not Status.NO_DATA
        ]

    credits = text.credit_tables(c, tz)
    if credits is not None:
        (head, rows), (ehead, erows) = credits
        lines += ["", "### Service credit", ""]
        lines += table(head, rows, "lrrl")
        lines += ["", "Evidence: every incident with counted downtime.", ""]
        lines += table(ehead, erows, "lllrl") if erows else ["No counted downtime."]

    incidents, hidden, note = text.incidents(c)
    lines += ["", "### Incidents", ""]
    if hidden:
        lines += [note, ""]
    if incidents:
        lines += table(
            *text.incident_table(incidents, tz),
            "lllrrl",
        )
    else:
        lines.append("No incidents.")

    failovers, hidden, note = text.failovers(c)
    lines += ["", "### Failovers (not downtime)", ""]
    if hidden:
        lines += [note, ""]
    if failovers:
        lines += table(
            *text.failover_table(failovers, tz),
        )
    else:
        lines.append("No failovers.")

    windows = c.maintenance()
    lines += ["", "### Maintenance windows", ""]
    if windows:
        lines += table(
            *text.window_table(windows, tz),
        )
    else:
        lines.append("No maintenance windows.")

    unknown, hidden, note = text.unknown_periods(c)
    lines += ["", "### Monitor blind or absent (unknown time)", ""]
    if hidden:
        lines += [note, ""]
    if unknown:
        lines += table(
            *text.unknown_table(unknown, tz),
            "llrll",
        )
    else:
        lines.append("The monitor saw the whole period.")
    if merged:
        lines += ["", f"### {ha_text.TITLE}", ""]
        head, rows = ha_text.disagreement_table(c, tz)
        lines += table(head, rows, "llrlll") if rows else [ha_text.NONE]
    return lines


def render(report: Report) -> str:
    tz = ZoneInfo(report.timezone)
    lines = header(report)
    if not report.clusters:
        lines += ["", "No clusters."]
    for c in report.clusters:
        lines += cluster_section(
            c, tz, report.partial, (report.month_start, report.end), report.merged
        )
    return "\n".join(lines) + "\n"
