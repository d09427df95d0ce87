"""The report's words for merged replicas (HA): which ledgers were merged, the rule, and
where the replicas disagreed. Only a merged report shows any of it, so a single ledger's
report is unchanged, byte for byte."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from monitor.ledger.merge import Disagreement
from monitor.report.model import ClusterSection, Report
from monitor.report.text import duration, local_time

RULE_WORDS = {
    "up": "the best state observed counts (a down seen by one replica only is most likely "
    "that replica's own network)",
    "down": "the worst state observed counts",
    "majority": "the state most replicas observed counts (a tie: the best)",
}
TITLE = "Replicas disagreed"


def merged_input(report: Report) -> str:
    """The header's row: what was merged and how."""
    return (
        f"merged from replicas {', '.join(report.replicas)}; where they observed different "
        f"states {RULE_WORDS[report.disagreement_rule]} (disagreement = "
        f"{report.disagreement_rule})"
    )


def disagreements(c: ClusterSection) -> list[tuple[str, Disagreement]]:
    """(service, disagreement) of every service, in time order."""
    found = [(s.service, d) for s in c.services for d in s.disagreements]
    return sorted(found, key=lambda x: (x[1].start, x[1].end, x[0]))


def disagreement_table(c: ClusterSection, tz: ZoneInfo) -> tuple[list[str], list[list[str]]]:
    return ["start", "end", "duration", "service", "views", "counted as"], [
        [
            local_time(d.start, tz),
            local_time(d.end, tz),
            duration(d.duration_us),
            service,
            ", ".join(f"{name}: {state}" for name, state in d.views),
            d.chosen,
        ]
        for service, d in disagreements(c)
    ]


NONE = "The replicas never observed different states."
