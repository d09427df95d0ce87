"""How numbers and times read in the human formats (md, html): shared so both say the same.

Percentages are truncated, never rounded up: a service at 99.89996 % against 99.9 % reads
99.899 %, not a misleading 99.900 %."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from monitor.ledger.query import Failover, ServicePeriod
from monitor.ledger.sla import Incident, Policy
from monitor.ledger.timebase import US, from_us
from monitor.report.causes import readable
from monitor.report.model import ClusterSection, MaintenanceEntry, ServiceSection, UnknownPeriod
from monitor.report.status import HEADLINE, WORD, Status

DIGITS = 3
INCIDENT_GOES_ON = "still down at the end of the period"


def duration(us: float) -> str:
    """``0s``, ``45s``, ``12m 05s``, ``3h 02m 10s``, ``2d 04h 00m 00s`` (whole seconds)."""
    sign = "-" if us < 0 else ""
    total = int(round(abs(us) / US))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        text = f"{days}d {hours:02d}h {minutes:02d}m {secs:02d}s"
    elif hours:
        text = f"{hours}h {minutes:02d}m {secs:02d}s"
    elif minutes:
        text = f"{minutes}m {secs:02d}s"
    else:
        text = f"{secs}s"
    return sign + text


def truncated_percent(good: int, total: int, digits: int = DIGITS) -> str:
    """``good / total`` in percent with ``digits`` decimals, truncated (exact integers)."""
    scale = 10**digits
    value = good * 100 * scale // total
    whole, frac = divmod(value, scale)
    return f"{whole}.{frac:0{digits}d} %" if digits else f"{whole} %"


def availability(p: ServicePeriod) -> str:
    b = p.breakdown
    if b.eligible_us <= 0:
        return "n/a"
    return truncated_percent(b.eligible_us - b.downtime_us, b.eligible_us)


def objective(p: ServicePeriod) -> str:
    return f"{p.objective * 100:g} %"


def budget_remaining(p: ServicePeriod) -> str:
    """``41m 37s (96.2 %)``, or ``-12m 03s (overspent)``."""
    remaining = p.budget.remaining_seconds * US
    allowed = p.budget.allowed_seconds
    if remaining < 0:
        return f"{duration(remaining)} (overspent)"
    if allowed <= 0:
        return duration(remaining)
    share = max(0.0, p.budget.remaining_seconds / allowed * 100)
    return f"{duration(remaining)} ({share:.1f} %)"


def verdict(s: ServiceSection, partial: bool = False) -> str:
    """``met``, ``BREACHED``, ``not enough data``; a month in progress: ``on track``,
    ``AT RISK``, ``BREACHED`` (only once its whole budget is spent)."""
    if partial and s.status is Status.MET:
        return "on track"
    return WORD[s.status]


def headline(c: ClusterSection, partial: bool = False) -> str:
    status = c.status
    if status is Status.MET:
        words = "on track" if partial else "all objectives met"
    else:
        words = HEADLINE[status]
    if partial and status is not Status.NO_DATA:
        words += " (month to date; budget: the whole month's)"
    return words


def _percent(ratio: float) -> str:
    scale = 10**DIGITS
    return f"{int(ratio * 100 * scale) / scale:.{DIGITS}f} %"


def projected(s: ServiceSection) -> str:
    """The month's end at the rate so far: ``99.912 % (downtime 38m 10s)``."""
    if s.projected_availability is None or s.projected_downtime_us is None:
        return "n/a"
    return f"{_percent(s.projected_availability)} (downtime {duration(s.projected_downtime_us)})"


def best_case(s: ServiceSection) -> str:
    """The month's end if no more downtime comes: what it can still reach."""
    return "n/a" if s.best_availability is None else _percent(s.best_availability)


def credit(s: ServiceSection) -> str:
    if s.credit is None:
        return "n/a"
    if s.credit.below is None:
        return "none (0 %)"
    return f"{s.credit.percent:g} % (below {s.credit.below:g} %)"


def counted_minutes(us: int) -> str:
    """Counted downtime in minutes: whole with ``downtime_granularity = "minute"``."""
    minutes = us / (60 * US)
    return f"{minutes:,.0f}" if minutes == int(minutes) else f"{minutes:,.2f}"


def failover_counts(c: ClusterSection | ServiceSection) -> tuple[int, int]:
    """(failovers, failbacks): a failback returns service to the primary; not a failover."""
    services = c.services if isinstance(c, ClusterSection) else (c,)
    causes = [f.cause for s in services for f in s.period.failovers]
    return causes.count("failover"), causes.count("failback")


def counting(policy: Policy) -> str:
    """How downtime was counted, in words (the report's inputs)."""
    minutes = policy.min_downtime_us / (60 * US)
    words = f"unknown time counts as {policy.unknown_counts_as}; outages count " + (
        f"from {minutes:g} minutes" if minutes else "from the first second"
    )
    if policy.whole_minutes:
        words += "; every minute with downtime counts whole"
    if policy.degraded_weight > 0:
        share = "as down" if policy.degraded_weight == 1 else f"{policy.degraded_weight:g} down"
        words += f"; degraded time counts {share}"
    return words


def local_time(us: int, tz: ZoneInfo) -> str:
    """``2026-11-10 01:00:00 CET`` (the SLA time zone, to the second)."""
    when = from_us(us).astimezone(tz)
    return when.strftime("%Y-%m-%d %H:%M:%S ") + (when.tzname() or "")


def utc_time(us: int) -> str:
    return from_us(us).strftime("%Y-%m-%d %H:%M:%S UTC")


def window_note(m: MaintenanceEntry, tz: ZoneInfo) -> str:
    """``#2, added by alice@admin1`` / ``#1, config file, weekly``; cancellations."""
    origin = "config file" if m.origin == "config" else f"added by {m.created_by}"
    note = f"#{m.window_id}, {origin}" + (f", {m.repeat}" if m.repeat != "none" else "")
    if m.retroactive and m.created_at is not None:
        note += f"; RETROACTIVE: added {local_time(m.created_at, tz)}, after it began"
    if m.cancelled_at is not None:
        note += f"; cancelled {local_time(m.cancelled_at, tz)}"
        note += f" by {m.cancelled_by}" if m.cancelled_by else ""
    return note


# A month of a crash-looping service has tens of thousands of incidents: the human formats
# list the ones that matter most (the JSON and CSV reports list every one).
MAX_LISTED = 500


def most(items: list, importance, limit: int = MAX_LISTED) -> tuple[list, int]:
    """``items`` (in their order), or the ``limit`` first by ``importance``, still in their
    order; and how many were left out."""
    if len(items) <= limit:
        return items, 0
    ranked = sorted(range(len(items)), key=lambda k: (importance(items[k]), k))[:limit]
    return [items[k] for k in sorted(ranked)], len(items) - limit


def incidents(c: ClusterSection) -> tuple[list[Incident], int, str]:
    everything = sorted(
        (i for s in c.services for i in s.period.incidents), key=lambda i: (i.start, i.service)
    )
    shown, hidden = most(everything, lambda i: (-i.downtime_us, -i.duration_us))
    note = (
        f"{hidden:,} more incidents are not listed here: these are the {MAX_LISTED:,} with "
        "the most counted downtime. The JSON and CSV reports list every one."
    )
    return shown, hidden, note


def failovers(c: ClusterSection) -> tuple[list[Failover], int, str]:
    everything = sorted(
        (f for s in c.services for f in s.period.failovers), key=lambda f: (f.at, f.service)
    )
    shown, hidden = most(everything, lambda f: 0)
    note = (
        f"{hidden:,} more failovers are not listed here: these are the first "
        f"{MAX_LISTED:,}. The JSON report lists every one."
    )
    return shown, hidden, note


def unknown_periods(
    c: ClusterSection,
) -> tuple[list[tuple[UnknownPeriod, tuple[str, ...]]], int, str]:
    shown, hidden = most(c.unknown_periods(), lambda u: -u[0].duration_us)
    note = (
        f"{hidden:,} more periods are not listed here: these are the {MAX_LISTED:,} "
        "longest. The JSON report lists every one."
    )
    return shown, hidden, note


SUMMARY_HEAD = (
    "service",
    "objective",
    "availability",
    "downtime",
    "maintenance",
    "unknown",
    "error budget",
    "budget left",
    "status",
)


def summary_rows(c: ClusterSection, partial: bool) -> tuple[list[str], list[list[str]]]:
    """The per-service summary table of a cluster, as every human format shows it. A
    month in progress says which figures are to date and adds the projection; a credit
    ladder adds the credit owed."""
    head = list(SUMMARY_HEAD)
    if partial:
        head[2] = "availability to date"
    credits = any(s.credit is not None for s in c.services)
    if credits:
        head.insert(-1, "credit to date" if partial else "credit owed")
    rows = []
    for s in c.services:
        p, b = s.period, s.period.breakdown
        row = [
            s.service,
            objective(p),
            availability(p),
            duration(b.downtime_us),
            duration(b.maintenance_us),
            duration(b.unknown_us),
            duration(p.budget.allowed_seconds * US),
            budget_remaining(p),
            verdict(s, partial),
        ]
        if credits:
            row.insert(-1, credit(s))
        rows.append(row)
    return head, rows


def summary_align(c: ClusterSection, partial: bool, numeric: str = "r") -> str:
    """One character per summary column: ``numeric`` for the figures, ``l`` otherwise."""
    n = len(summary_rows(c, partial)[0])
    return "l" + numeric * (n - 2) + "l"


def observed(c: ClusterSection, start: int, end: int) -> str | None:
    """What part of the period the ledger covers, when it does not cover all of it."""
    first = c.ledger_first
    if first is None:
        return "The monitor recorded nothing for this cluster in the period: not enough data."
    if first <= start:
        return None
    share = (end - max(first, start)) / (end - start) * 100 if end > start else 0.0
    shown = f"{share:.1f}" if share >= 0.1 else f"{share:.2g}"  # a demo's minutes: 0.0012
    return (
        f"Observed from {utc_time(first)}: the ledger covers {shown} % of the period; "
        "the time before is unknown, not up."
    )


def credit_evidence(c: ClusterSection) -> list[Incident]:
    """The incidents that count towards the credit (counted downtime > 0), in time order."""
    return sorted(
        (
            i
            for s in c.services
            if s.credit is not None
            for i in s.period.incidents
            if i.downtime_us > 0
        ),
        key=lambda i: (i.start, i.service),
    )


def credit_tables(
    c: ClusterSection, tz: ZoneInfo
) -> tuple[tuple[list[str], list[list[str]]], tuple[list[str], list[list[str]]]] | None:
    """The credit per service and its evidence, or None without a credit ladder."""
    services = [s for s in c.services if s.credit is not None]
    if not services:
        return None
    summary = (
        ["service", "availability", "counted downtime", "credit"],
        [
            [s.service, availability(s.period), duration(s.period.breakdown.downtime_us), credit(s)]
            for s in services
        ],
    )
    evidence = (
        ["service", "start", "end", "counted minutes", "cause"],
        [
            [
                i.service,
                local_time(i.start, tz),
                INCIDENT_GOES_ON if i.ongoing else local_time(i.end, tz),
                counted_minutes(i.downtime_us),
                readable(i.cause),
            ]
            for i in credit_evidence(c)
        ],
    )
    return summary, evidence


# The detail tables of a cluster: (head, rows) with the cells every human format shows.


def incident_table(incidents: list[Incident], tz: ZoneInfo) -> tuple[list[str], list[list[str]]]:
    return ["service", "start", "end", "duration", "counted", "cause"], [
        [
            i.service,
            local_time(i.start, tz),
            INCIDENT_GOES_ON if i.ongoing else local_time(i.end, tz),
            duration(i.duration_us),
            duration(i.downtime_us),
            readable(i.cause),
        ]
        for i in incidents
    ]


def failover_table(failovers: list[Failover], tz: ZoneInfo) -> tuple[list[str], list[list[str]]]:
    return ["service", "at", "from", "to", "what"], [
        [f.service, local_time(f.at, tz), f.old, f.new, readable(f.cause)] for f in failovers
    ]


def window_table(
    windows: list[MaintenanceEntry], tz: ZoneInfo
) -> tuple[list[str], list[list[str]]]:
    return ["start", "end", "services", "reason", "window"], [
        [
            local_time(m.start, tz),
            local_time(m.end, tz),
            ", ".join(m.services),
            m.reason or "(no reason given)",
            window_note(m, tz),
        ]
        for m in windows
    ]


def unknown_table(
    unknown: list[tuple[UnknownPeriod, list[str]]], tz: ZoneInfo
) -> tuple[list[str], list[list[str]]]:
    return ["start", "end", "duration", "services", "what"], [
        [
            local_time(u.start, tz),
            local_time(u.end, tz),
            duration(u.duration_us),
            ", ".join(services),
            readable(u.cause),
        ]
        for u, services in unknown
    ]
