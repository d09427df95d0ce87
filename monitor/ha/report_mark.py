"""The pair's shared record that a month's report was mailed: a silence on the Alertmanager
cluster. Replicas share no store, but their Alertmanagers gossip silences to every peer and
keep them on disk, so a silence is a record every replica can read later, whichever
Alertmanager it asks. It matches only ``alertname="SlurmSLAReportMailed"``, which nothing
sends, so it silences nothing; the Alertmanager UI lists it with who mailed the report.

A replica that mails leaves the mark; before mailing, every replica looks for it. So the
report's sender back from an outage (its timer catching up at boot) does not mail a month its
peer mailed in its stead, and of two replicas that cannot see each other, the second timer
(``RandomizedDelaySec`` spreads them) finds the first one's mark. With every Alertmanager
unreachable there is no mark to read or leave, and the sender rule alone decides.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

ALERTNAME = "SlurmSLAReportMailed"
KEEP = dt.timedelta(days=62)  # past the next month's report: a catch-up is never that late
TIMEOUT_SECONDS = 5.0
_CREATED_BY = "slurm-sla-monitor replica "


@dataclass(frozen=True)
class MailedMark:
    replica: str
    at: str  # when it was mailed (the silence's start), as the Alertmanager wrote it


def silence(month: str, replica: str, now: dt.datetime) -> dict[str, Any]:
    """The silence that records ``replica`` mailing the report of ``month`` at ``now``."""
    return {
        "matchers": [
            {"name": "alertname", "value": ALERTNAME, "isRegex": False, "isEqual": True},
            {"name": "month", "value": month, "isRegex": False, "isEqual": True},
        ],
        "startsAt": _iso(now),
        "endsAt": _iso(now + KEEP),
        "createdBy": _CREATED_BY + replica,
        "comment": f"slurm-sla-monitor: the SLA report {month} was mailed by replica {replica}"
        " (a record for the other replicas; it silences nothing)",
    }


def mark_in(silences: Sequence[Mapping[str, Any]], month: str) -> MailedMark | None:
    """The mark for ``month`` among an Alertmanager's silences (``GET /api/v2/silences``),
    the earliest if several replicas left one; None without one in force."""
    found = []
    for s in silences:
        # pending: its start is a little ahead of this Alertmanager's clock
        if (s.get("status") or {}).get("state") not in ("active", "pending"):
            continue
        matchers = {(m.get("name"), m.get("value")) for m in s.get("matchers") or ()}
        if {("alertname", ALERTNAME), ("month", month)} <= matchers:
            by = str(s.get("createdBy", ""))
            replica = by[len(_CREATED_BY) :] if by.startswith(_CREATED_BY) else by
            found.append(MailedMark(replica, str(s.get("startsAt", ""))))
    return min(found, key=lambda m: m.at) if found else None


def find_mark(alertmanagers: Sequence[str], month: str) -> MailedMark | None:
    """The mark from the first Alertmanager that answers; None when none has one (or none
    answers)."""
    import requests  # the report's mail path only

    for url in alertmanagers:
        try:
            answer = requests.get(
                url.rstrip("/") + "/api/v2/silences",
                params={"filter": f'alertname="{ALERTNAME}"'},
                timeout=TIMEOUT_SECONDS,
            )
            answer.raise_for_status()
            return mark_in(answer.json(), month)
        except (requests.RequestException, ValueError):
            continue
    return None


def leave_mark(
    alertmanagers: Sequence[str], month: str, replica: str, now: dt.datetime
) -> str | None:
    """Record the mail on the first Alertmanager that accepts it (gossip takes it to the
    others); its URL, or None when none accepted."""
    import requests

    body = silence(month, replica, now)
    for url in alertmanagers:
        try:
            answer = requests.post(
                url.rstrip("/") + "/api/v2/silences", json=body, timeout=TIMEOUT_SECONDS
            )
            if answer.ok:
                return url
        except requests.RequestException:
            continue
    return None


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
