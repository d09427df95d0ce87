"""The peer-view gate: "cannot see is never down", between replicas. Pure: views, times
and the gate's memory come in, the alerts to act on go out.

A replica cut off from the controllers (a firewall, a route, a switch between it and the
cluster) sees every controller fail exactly as in an outage. Before it lets a Down-class
alert through (SlurmctldDown, SlurmdbdDown, and the BackupDown pair), it looks at its
peers' live views (monitor.ha.view):

- a peer whose view of that service is fresh (younger than ``max_age``) and says it is up
  (or says that backup is up) contradicts the alert: it is withheld, and, once the
  contradiction has lasted ``blind_after``, this replica raises SlurmMonitorBlind for the
  service instead, its description naming the partition ("replica a cannot reach the
  controllers; replica b sees slurmctld up");
- a stale, missing or unreachable peer view contradicts nothing: the replica pages as if
  it were alone. A peer that is itself blind (unknown) contradicts nothing either;
- a Down alert this replica holds because it went blind in the middle of it (the engine
  neither resolves nor re-fires what it cannot see) is released when a fresh peer view
  sees the service up: the pair knows it is over. Held, it would be re-posted as firing
  every minute after the peer had resolved it, and the Alertmanager, taking the latest
  post, would page the ended outage again.

Both replicas seeing the service down both let the alert through, with identical labels:
the Alertmanager cluster makes one page of the two. The grace before the blindness alert
is what keeps the ordinary seconds of disagreement at the edges of a real outage (one
replica confirms a round before the other) from paging anyone: during those seconds the
Down page waits for the second replica to agree (at most one interval plus one view
fetch), or for its view to go stale.

The ledger is not gated: each replica records what it saw, and the merged report shows the
disagreement with both views (monitor.ledger.merge).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from monitor.alerting.rules import Candidate, Context, Evaluation, Hold
from monitor.alerting.settings import AlertSettings
from monitor.config import Thresholds
from monitor.observation import State
from monitor.reasons import Reason
from monitor.snapshot import ClusterStatus

BLIND = "SlurmMonitorBlind"
# alertname -> the service it is about; an instance of the BackupDown pair also names a host
SERVICE_DOWN = {"SlurmctldDown": "slurmctld", "SlurmdbdDown": "slurmdbd"}
BACKUP_DOWN = {"SlurmctldBackupDown": "slurmctld", "SlurmdbdBackupDown": "slurmdbd"}
_SEES_UP = (State.UP, State.DEGRADED)
_WHAT = {"slurmctld": "the controllers", "slurmdbd": "slurmdbd"}


@dataclass(frozen=True)
class PeerSight:
    """One peer's view of one cluster, its ages as of now on this replica's clock."""

    replica: str
    services: Mapping[str, State]
    ages: Mapping[str, float]
    daemons: Mapping[tuple[str, str], tuple[State, Reason | None]] = field(default_factory=dict)


@dataclass(frozen=True)
class GateParams:
    replica: str
    max_age: float  # a peer's view older than this contradicts nothing
    blind_after: float  # a contradiction this long raises SlurmMonitorBlind


@dataclass(frozen=True)
class Contradiction:
    """A withheld Down-class alert and the peer whose view withheld it."""

    alertname: str
    instance: str
    service: str
    peer: str
    peer_age: float


@dataclass(frozen=True)
class GateResult:
    evaluation: Evaluation
    since: Mapping[str, dt.datetime]  # service -> contradicted continuously since
    withheld: tuple[Contradiction, ...] = ()


def gate(
    ev: Evaluation,
    status: ClusterStatus,
    peers: Sequence[PeerSight],
    since: Mapping[str, dt.datetime],
    now: dt.datetime,
    params: GateParams,
    settings: AlertSettings,
    thresholds: Thresholds,
) -> GateResult:
    """``ev`` with every contradicted Down-class alert withheld and, per service
    contradicted for ``blind_after``, a SlurmMonitorBlind alert; ``since`` is the gate's
    memory from the previous round of this cluster (what it returns, fed back)."""
    fresh = [p for p in peers if p.replica != params.replica]
    released = tuple(h for h in ev.held if not _answered(h, fresh, params.max_age))
    if released != ev.held:
        ev = replace(ev, held=released)
    withheld = []
    for c in ev.active:
        found = _contradiction(c, fresh, params.max_age)
        if found is not None:
            withheld.append(found)
    if not withheld:
        return GateResult(ev, {})
    dropped = {(w.alertname, w.instance) for w in withheld}
    active = [c for c in ev.active if (c.alertname, c.instance) not in dropped]
    services = {w.service: w for w in withheld}
    new_since = {s: since.get(s, now) for s in services}
    ctx = Context(status, (), settings, thresholds, now)
    own = {c.instance for c in active if c.alertname == BLIND}
    for service, w in sorted(services.items()):
        if BLIND not in ev.rules or service in own:
            continue
        if (now - new_since[service]).total_seconds() < params.blind_after:
            continue
        _fire_blind(ctx, w, params.replica, new_since[service])
    return GateResult(
        Evaluation(ev.cluster, (*active, *ctx.active), ev.held, ev.rules),
        new_since,
        tuple(withheld),
    )


def _answered(hold: Hold, peers: Sequence[PeerSight], max_age: float) -> bool:
    """A held service Down alert that a fresh peer view sees up."""
    service = SERVICE_DOWN.get(hold.alertname)
    return service is not None and any(
        _fresh(p, service, max_age) and p.services.get(service) in _SEES_UP for p in peers
    )


def _fresh(p: PeerSight, service: str, max_age: float) -> bool:
    age = p.ages.get(service)
    return age is not None and age < max_age


def _contradiction(
    c: Candidate, peers: Sequence[PeerSight], max_age: float
) -> Contradiction | None:
    service = SERVICE_DOWN.get(c.alertname) or BACKUP_DOWN.get(c.alertname)
    if service is None:
        return None
    host = c.labels.get("host", "")
    for p in peers:
        if not _fresh(p, service, max_age):
            continue
        age = p.ages[service]
        if c.alertname in SERVICE_DOWN:
            up = p.services.get(service) in _SEES_UP
        else:
            state, reason = p.daemons.get((service, host), (None, None))
            # a standby slurmdbd does not listen: its healthy look is "unknown (standby)"
            up = state in _SEES_UP or reason is Reason.STANDBY
        if up:
            return Contradiction(c.alertname, c.instance, service, p.replica, age)
    return None


def _fire_blind(ctx: Context, w: Contradiction, replica: str, since: dt.datetime) -> None:
    partition = (
        f"replica {replica} cannot reach {_WHAT.get(w.service, w.service)}; replica {w.peer} "
        f"sees {w.service} up"
    )
    ctx.fire(
        BLIND,
        w.service,
        since,
        f"Replica {replica} cannot see {w.service} of cluster {ctx.cluster}: {partition}",
        f"{partition} (its view {w.peer_age:.0f} s old). This is a network partition between "
        f"this monitor and the cluster, not an outage: {w.alertname} is withheld while a "
        f"peer sees the service up, and this replica's ledger still records what it saw "
        f"(the merged report shows the disagreement). Restore the path from replica "
        f"{replica} to the cluster.",
        service=w.service,
    )
