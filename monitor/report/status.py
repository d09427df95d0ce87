"""What a report says of a service: met, at risk, breached, or not enough data; and what
the month would look like if it went on as it has so far. Pure: figures in, verdict out.

- not enough data: the monitor observed none of the period (no up, degraded or down time),
  or none of it is eligible (all maintenance or unknown): nothing to claim either way;
- breached: the error budget is spent (a closed month: availability below the objective;
  a month in progress: the whole month's budget already used up), never before;
- at risk (a month in progress only): the budget is being spent faster than an even burn,
  which is the same as "projected to be spent before the month ends at this rate";
- met: none of the above (for a month in progress: on track so far).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from monitor.ledger.query import ServicePeriod


class Status(StrEnum):
    MET = "met"
    AT_RISK = "at_risk"
    BREACHED = "breached"
    NO_DATA = "no_data"


# How a cluster reads when its services differ: the worst one, and "not enough data" is
# worse than met (a cluster cannot be "all met" while a service was never observed).
_SEVERITY = (Status.MET, Status.NO_DATA, Status.AT_RISK, Status.BREACHED)

HEADLINE = {
    Status.MET: "objectives met",
    Status.AT_RISK: "objective AT RISK",
    Status.BREACHED: "objective BREACHED",
    Status.NO_DATA: "not enough data",
}
WORD = {
    Status.MET: "met",
    Status.AT_RISK: "AT RISK",
    Status.BREACHED: "BREACHED",
    Status.NO_DATA: "not enough data",
}


def observed_us(p: ServicePeriod) -> int:
    b = p.breakdown
    return b.up_us + b.degraded_us + b.down_us


def service_status(p: ServicePeriod, *, partial: bool, elapsed: float) -> Status:
    """``elapsed``: the share of the month the period covers (1 for a closed month)."""
    if observed_us(p) <= 0 or p.breakdown.eligible_us <= 0:
        return Status.NO_DATA
    if not partial:
        return Status.MET if p.breakdown.availability >= p.objective else Status.BREACHED  # type: ignore[operator]
    budget = p.budget
    if budget.remaining_seconds < 0:
        return Status.BREACHED
    if budget.allowed_seconds > 0 and budget.used_seconds / budget.allowed_seconds > elapsed:
        return Status.AT_RISK
    return Status.MET


def combined(statuses: Iterable[Status]) -> Status:
    items = list(statuses)
    if not items:
        return Status.NO_DATA
    return max(items, key=_SEVERITY.index)


def met_field(status: Status) -> bool | None:
    """The JSON's ``met``: null with no data, false once breached, true otherwise (a month
    in progress at risk has not failed yet; ``status`` says more)."""
    if status is Status.NO_DATA:
        return None
    return status is not Status.BREACHED


def projected_downtime_us(used_us: int, elapsed: float) -> int | None:
    """The month's downtime if it goes on at the rate so far."""
    if elapsed <= 0:
        return None
    return round(used_us / min(elapsed, 1.0))
