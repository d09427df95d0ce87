"""Service credits: the ``[[sla.credits]]`` ladder applied to a service's availability.

A tier with ``service`` applies to that service only; a tier without applies to every
service of a cluster that has no tier of its own. The credit owed is that of the lowest
tier the availability falls below (the largest credit). A cluster owes the largest credit
of its services: it is "below 99.9 %" as soon as one of its services is, as AWS words a
cluster's monthly uptime. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from monitor.config import CreditTier


@dataclass(frozen=True)
class Credit:
    percent: float  # owed, 0 when the availability is above every tier
    below: float | None  # the tier that decided it (percent), None: none reached


def tiers_for(ladder: Sequence[CreditTier], service: str) -> list[CreditTier]:
    own = [t for t in ladder if t.service == service]
    return own or [t for t in ladder if t.service is None]


def credit(
    ladder: Sequence[CreditTier], service: str, availability_percent: float | None
) -> Credit | None:
    """None when no tier applies, or there is no availability to judge."""
    tiers = tiers_for(ladder, service)
    if not tiers or availability_percent is None:
        return None
    reached = [t for t in tiers if availability_percent < t.below]
    if not reached:
        return Credit(0.0, None)
    worst = max(reached, key=lambda t: (t.credit_percent, -t.below))
    return Credit(worst.credit_percent, worst.below)


def largest(credits: Sequence[Credit | None]) -> float | None:
    owed = [c.percent for c in credits if c is not None]
    return max(owed) if owed else None
