"""Peers' views for the peer-view gate tests (issue 17): what replica a sees when cut off
from the cluster, and a peer's view of the same cluster."""

from __future__ import annotations

from monitor.ha.gate import PeerSight
from monitor.observation import State
from monitor.reasons import Reason
from tests.support.alerting import DOWN, UNKNOWN, UP, status

CUT_OFF = status(ctl1=DOWN, ctl2=DOWN, dbd1=DOWN, dbd2=DOWN)  # what replica a sees


def sight(
    replica: str = "b",
    ctl: State = UP,
    dbd: State = UP,
    age: float = 1.0,
    ctl2: State = UP,
    dbd2: tuple[State, Reason | None] = (UNKNOWN, Reason.STANDBY),
) -> PeerSight:
    """A peer's view of cluster prod, ``age`` seconds old: by default all is well."""
    return PeerSight(
        replica,
        {"slurmctld": ctl, "slurmdbd": dbd},
        {"slurmctld": age, "slurmdbd": age},
        {
            ("slurmctld", "ctl1"): (ctl, None),
            ("slurmctld", "ctl2"): (ctl2, None),
            ("slurmdbd", "dbd1"): (dbd, None),
            ("slurmdbd", "dbd2"): dbd2,
        },
    )
