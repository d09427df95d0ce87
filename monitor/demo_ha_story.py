"""``slurm-sla demo --ha``: the story, what it should page, and how its figures are counted.
Pure: no process, no clock (times are given), no I/O.

The story is the demo's (failover, outage, slurmdbd maintenance, blindness), told to two
replicas: replica ``a`` is blind for a while (munge broken on its host only, so ``b`` still
sees), and ``a`` is SIGKILLed in the middle of the controllers' outage and started again
after it. Through the Alertmanager pair each incident must page once, and the merged ledger
of ``a`` and ``b`` must know the cluster's state all along.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from monitor.ledger.sla import UNKNOWN, UNMONITORED, Steps
from monitor.ledger.timebase import US

REPLICAS = ("a", "b")
# What a monitor host's own blindness replays (munge broken there; through REST the same
# step is a rejected token): the other host keeps seeing the cluster as it is.
BLIND_SITUATION = "munge-down"


@dataclass(frozen=True)
class Page:
    """An alert the story should page, once: its name and ``service`` label."""

    alertname: str
    service: str


@dataclass(frozen=True)
class HaStep:
    situation: str  # what the cluster does, seen from every monitor host
    share: float  # of the story's duration
    says: str
    blind: str | None = None  # this replica's host replays BLIND_SITUATION instead
    kill: str | None = None  # SIGKILL this replica in the middle of the step
    restart: str | None = None  # start this replica again in the middle of the step
    pages: tuple[Page, ...] = ()


HA_SCRIPT: tuple[HaStep, ...] = (
    HaStep("healthy", 0.10, "all daemons up; replicas a and b both watching"),
    HaStep(
        "healthy",
        0.12,
        "munge broken on replica a's host only: a is blind, b still sees the cluster up",
        blind="a",
        pages=(Page("SlurmMonitorBlind", "slurmctld"), Page("SlurmMonitorBlind", "slurmdbd")),
    ),
    HaStep("healthy", 0.08, "munge restored on a's host"),
    HaStep(
        "primary-killed",
        0.12,
        "primary slurmctld killed: the backup takes over (a failover, not an outage)",
        pages=(Page("SlurmctldFailover", "slurmctld"),),
    ),
    HaStep("healthy", 0.08, "primary back: failback"),
    HaStep(
        "both-killed",
        0.16,
        "both slurmctld killed: no controller (an outage); replica a is SIGKILLed once it "
        "sees it",
        kill="a",
        pages=(Page("SlurmctldDown", "slurmctld"),),
    ),
    HaStep(
        "healthy", 0.12, "controllers restored, seen by b alone; replica a starts again",
        restart="a",
    ),
    HaStep(
        "both-dbd-killed",
        0.12,
        "both slurmdbd killed, inside a planned maintenance window (silenced, not counted)",
    ),
    HaStep("healthy", 0.10, "slurmdbd restored"),
)

# The maintenance window opens this long before the slurmdbd step and stays open this
# long after the story's planned end: a story that starts late on a loaded machine (the
# replicas' first rounds come first) still has its slurmdbd outage inside.
WINDOW_LEAD_SECONDS = 3.0
WINDOW_TAIL_SECONDS = 30.0


def situation_for(step: HaStep, replica: str) -> str:
    """What ``replica``'s host replays during ``step``."""
    return BLIND_SITUATION if step.blind == replica else step.situation


def step_lengths(steps: Sequence[HaStep], duration: float) -> list[float]:
    total = sum(s.share for s in steps)
    return [s.share * duration / total for s in steps]


def maintenance_window(steps: Sequence[HaStep], duration: float) -> tuple[float, float]:
    """[start, end) in seconds from the story's planned start: around the slurmdbd outage."""
    t = 0.0
    for step, length in zip(steps, step_lengths(steps, duration), strict=True):
        if step.situation == "both-dbd-killed":
            return t - WINDOW_LEAD_SECONDS, duration + WINDOW_TAIL_SECONDS
        t += length
    raise ValueError("the story has no slurmdbd outage to cover")


def expected_pages(steps: Iterable[HaStep]) -> list[Page]:
    return [p for s in steps for p in s.pages]


# --- what the receiver got ---------------------------------------------------------------


@dataclass(frozen=True)
class Notice:
    """One alert as one webhook POST carried it."""

    fingerprint: str
    alertname: str
    service: str
    status: str  # firing | resolved
    sender: str  # the Alertmanager that sent it (its externalURL)


def notices_of(payload: Mapping[str, Any]) -> list[Notice]:
    """The alerts of one Alertmanager webhook payload (version 4)."""
    out = []
    for alert in payload.get("alerts") or ():
        labels = alert.get("labels") or {}
        out.append(
            Notice(
                str(alert.get("fingerprint", "")),
                str(labels.get("alertname", "")),
                str(labels.get("service", "")),
                str(alert.get("status", "")),
                str(payload.get("externalURL", "")),
            )
        )
    return out


@dataclass(frozen=True)
class Tally:
    pages: int  # firing notices received
    duplicate_pages: int  # firing notices of an alert already firing at the receiver
    resolved: int  # resolved notices received
    still_firing: tuple[str, ...]  # alert names whose last notice was firing


def tally(notices: Iterable[Notice]) -> Tally:
    """Counts notices in arrival order. An incident at the receiver is an alert (by
    fingerprint) from a firing notice to its resolved notice: a second firing notice in
    between is a duplicate page (what a second Alertmanager peer's copy looks like); a
    firing notice after the resolved one starts a new incident, and so is a page beyond
    the story's incidents, never hidden."""
    firing: dict[str, str] = {}
    pages = duplicates = resolved = 0
    for n in notices:
        if n.status == "firing":
            pages += 1
            duplicates += n.fingerprint in firing
            firing[n.fingerprint] = n.alertname
        elif n.status == "resolved":
            resolved += 1
            firing.pop(n.fingerprint, None)
    return Tally(pages, duplicates, resolved, tuple(sorted(firing.values())))


def unknown_seconds(steps: Steps) -> float:
    """Seconds of ``steps`` where the state was not known: blind (unknown) or no monitor
    running (unmonitored)."""
    return sum(
        (end - start) / US
        for start, end, state in zip(steps.bounds, steps.bounds[1:], steps.states, strict=False)
        if state in (UNKNOWN, UNMONITORED)
    )


@dataclass(frozen=True)
class Outcome:
    incidents: int
    pages: int
    duplicate_pages: int
    merged_unknown_seconds: float

    def line(self) -> dict[str, float | int]:
        """The demo's last line of output, as JSON."""
        return {
            "incidents": self.incidents,
            "pages": self.pages,
            "duplicate_pages": self.duplicate_pages,
            "merged_unknown_seconds": round(float(self.merged_unknown_seconds), 3),
        }

    def misses(self, probe_interval: float) -> list[str]:
        """What falls short of the HA promise (empty: kept)."""
        out = []
        if self.duplicate_pages:
            out.append(f"{self.duplicate_pages} duplicate page(s)")
        if self.pages != self.incidents:
            out.append(f"{self.pages} page(s) for {self.incidents} incident(s)")
        if self.merged_unknown_seconds >= 2 * probe_interval:
            out.append(
                f"{self.merged_unknown_seconds:.1f} s unknown in the merged ledger (two probe "
                f"intervals: {2 * probe_interval:g} s)"
            )
        return out
