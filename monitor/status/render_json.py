"""``/status.json``: the status page's content as JSON. The month's figures carry the
report's key names and values (``ServicePeriod.to_dict``), so a script can hold the two
side by side. A public page drops host names and causes (see :func:`incident_dict`)."""

from __future__ import annotations

import json
from typing import Any

from monitor.ledger.query import Failover
from monitor.ledger.sla import Incident
from monitor.ledger.timebase import US, iso
from monitor.report.causes import readable
from monitor.status.model import Day, ServiceStatus, StatusPage, Upcoming, role_of, state_words

# The report's per-service figures the page shows (the rest is the report's business).
MONTH_KEYS = (
    "start", "end", "objective_percent", "availability_percent", "downtime_seconds",
    "maintenance_seconds", "unknown_seconds", "eligible_seconds", "error_budget_seconds",
    "error_budget_remaining_seconds",
)  # fmt: skip


def render_json(page: StatusPage) -> bytes:
    return (json.dumps(page_dict(page), indent=2) + "\n").encode()


def page_dict(page: StatusPage) -> dict[str, Any]:
    return {
        "title": page.title,
        "generated_at": iso(page.generated_at),
        "timezone": page.timezone,
        "customer": page.customer,
        "public": page.public,
        "period": {"start": iso(page.period_start), "end": iso(page.period_end)},
        "days_start": iso(page.days_start),
        "clusters": [
            {
                "name": c.name,
                "customer": c.customer,
                "first_data": None if c.first_data is None else iso(c.first_data),
                "last_data": None if c.last_data is None else iso(c.last_data),
                "services": [service_dict(s, page.public) for s in c.services],
                "maintenance": [upcoming_dict(u) for u in c.upcoming],
                "recent_maintenance": [upcoming_dict(u) for u in c.recent],
            }
            for c in page.clusters
        ],
    }


def service_dict(s: ServiceStatus, public: bool) -> dict[str, Any]:
    figures = s.period.to_dict()
    month = {k: figures[k] for k in MONTH_KEYS}
    # rounded as the report rounds them: past the microsecond the ledger counts, noise
    for key in ("error_budget_seconds", "error_budget_remaining_seconds"):
        month[key] = round(float(month[key]), 6)
    month["error_budget_remaining_ratio"] = _finite(s.period.budget.remaining_ratio)
    active = None
    if s.active_role:
        active = {"role": s.active_role}
        if not public:
            active["hostname"] = s.active_host
    return {
        "service": s.service,
        "state": s.state,
        "state_text": state_words(s.state, s.active_role),
        "since": None if s.since is None else iso(s.since),
        "cause": None if public or not s.cause else readable(s.cause),
        "active": active,
        "month": month,
        "days": [day_dict(d) for d in s.days],
        "incidents": [incident_dict(i, public) for i in s.incidents],
        "failovers": [failover_dict(f, public) for f in s.failovers],
    }


def day_dict(d: Day) -> dict[str, Any]:
    b = d.breakdown
    availability = d.availability
    return {
        "date": d.date.isoformat(),
        "kind": d.kind,
        "availability_percent": None if availability is None else availability * 100,
        "downtime_seconds": None if b is None else b.downtime_us / US,
        "maintenance_seconds": None if b is None else b.maintenance_us / US,
        "unknown_seconds": None if b is None else b.unknown_us / US,
        "eligible_seconds": None if b is None else b.eligible_us / US,
    }


def incident_dict(i: Incident, public: bool) -> dict[str, Any]:
    """A public page shows when and how long, never why: a cause names hosts and parts."""
    return {
        "start": iso(i.start),
        "end": None if i.ongoing else iso(i.end),
        "duration_seconds": i.duration_us / US,
        "downtime_seconds": i.downtime_us / US,
        "ongoing": i.ongoing,
        "cause": None if public else readable(i.cause),
    }


def failover_dict(f: Failover, public: bool) -> dict[str, Any]:
    old, new = (role_of(f.old), role_of(f.new)) if public else (f.old, f.new)
    return {"at": iso(f.at), "kind": f.cause, "from": old, "to": new}


def upcoming_dict(u: Upcoming) -> dict[str, Any]:
    return {
        "start": iso(u.start),
        "end": iso(u.end),
        "reason": u.reason,
        "services": list(u.services),
    }


def _finite(x: float) -> float | None:
    return x if x == x and abs(x) != float("inf") else None
