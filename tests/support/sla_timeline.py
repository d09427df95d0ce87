"""Timelines for the SLA arithmetic tests, in seconds from an arbitrary instant: transitions
(``tr``), heartbeat coverage (``cov``), instants (``at``) and the timeline they make (``tl``)."""

from __future__ import annotations

from monitor.ledger.sla import Coverage, Policy, Transition, timeline
from monitor.ledger.timebase import US

S = US  # one second
T0 = 1_800_000_000 * US  # an arbitrary instant


def tr(at_s: float, state: str, run: int = 1, seq: int = 0, cause: str = "") -> Transition:
    return Transition(T0 + round(at_s * S), run, seq, state, cause or state)


def cov(first_s: float, last_s: float, run: int = 1) -> Coverage:
    return Coverage(run, T0 + round(first_s * S), T0 + round(last_s * S))


def at(s: float) -> int:
    return T0 + round(s * S)


def tl(transitions, coverage, windows=(), lo=0, hi=1000, policy=None):
    policy = policy or Policy()
    win = [(at(a), at(b)) for a, b in windows]
    return timeline(transitions, coverage, win, at(lo), at(hi), policy)
