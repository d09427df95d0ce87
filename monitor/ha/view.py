"""A replica's live view, as its peers read it from ``GET /ha/view``: per cluster, each
service's state after hysteresis and each daemon's, with how old that verdict is.

Why a peer wants it: a replica that sees every controller "down" cannot tell an outage
from a network partition between itself and the cluster. Before it pages Down it asks its
peers (monitor.ha.gate); a peer that sees the service up, recently, means the partition.

Ages, not timestamps: each replica measures them on its own monotonic clock (seconds since
that service's last round ended), and the reader adds the time since it sent the request,
so neither wall clock nor clock skew between replicas enters the decision.

```json
{"replica": "b", "clusters": [{"name": "prod",
  "services": [{"service": "slurmctld", "state": "up", "age_seconds": 0.8}],
  "daemons": [{"daemon": "slurmctld", "host": "ctl1", "role": "primary", "state": "up",
               "reason": null}]}]}
```
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from exporters.http_server import Response
from monitor.observation import State
from monitor.reasons import Reason
from monitor.snapshot import Snapshot

PATH = "/ha/view"


@dataclass(frozen=True)
class DaemonSight:
    daemon: str
    host: str
    role: str
    state: State
    reason: Reason | None


@dataclass(frozen=True)
class ClusterView:
    name: str
    services: Mapping[str, State]
    ages: Mapping[str, float]  # service -> seconds since its last round ended (peer's clock)
    daemons: tuple[DaemonSight, ...] = ()


@dataclass(frozen=True)
class View:
    replica: str
    clusters: Mapping[str, ClusterView]


# (cluster, service) -> seconds since that lane's last round ended; None: never ran
LaneAges = Callable[[], Mapping[tuple[str, str], float | None]]


def build_view(
    replica: str, snapshot: Snapshot, ages: Mapping[tuple[str, str], float | None]
) -> View:
    """This replica's view: only services whose lane has run (a service never probed
    since the start has no verdict to lend)."""
    clusters = {}
    for c in snapshot.clusters:
        services, service_ages = {}, {}
        for name, svc in c.services.items():
            age = ages.get((c.name, name))
            if age is None:
                continue
            services[name], service_ages[name] = svc.state, age
        daemons = tuple(
            DaemonSight(d.daemon, d.hostname, d.role, d.state, d.reason)
            for d in c.daemons
            if d.daemon in services
        )
        clusters[c.name] = ClusterView(c.name, services, service_ages, daemons)
    return View(replica, clusters)


def to_json(view: View) -> bytes:
    doc = {
        "replica": view.replica,
        "clusters": [
            {
                "name": c.name,
                "services": [
                    {"service": s, "state": str(state), "age_seconds": round(c.ages[s], 3)}
                    for s, state in sorted(c.services.items())
                ],
                "daemons": [
                    {
                        "daemon": d.daemon,
                        "host": d.host,
                        "role": d.role,
                        "state": str(d.state),
                        "reason": str(d.reason) if d.reason else None,
                    }
                    for d in c.daemons
                ],
            }
            for c in view.clusters.values()
        ],
    }
    return json.dumps(doc, sort_keys=True).encode() + b"\n"


class ViewError(ValueError):
    """A peer's answer that is not a view: the reader treats the peer as silent."""


def parse_view(body: bytes) -> View:
    try:
        doc = json.loads(body)
        clusters = {}
        for c in doc["clusters"]:
            services = {s["service"]: State(s["state"]) for s in c["services"]}
            ages = {s["service"]: _age(s["age_seconds"]) for s in c["services"]}
            daemons = tuple(
                DaemonSight(
                    d["daemon"],
                    d["host"],
                    d["role"],
                    State(d["state"]),
                    Reason(d["reason"]) if d.get("reason") else None,
                )  # fmt: skip
                for d in c.get("daemons", ())
            )
            clusters[str(c["name"])] = ClusterView(str(c["name"]), services, ages, daemons)
        return View(str(doc["replica"]), clusters)
    except (ValueError, KeyError, TypeError) as exc:
        raise ViewError(f"not a replica view: {exc}") from None


def _age(value: Any) -> float:
    age = float(value)
    if not age >= 0:  # NaN and negatives: a view claiming to be from the future is no view
        raise ValueError(f"age_seconds {value!r}")
    return age


class ViewPage:
    """``/ha/view``: the replica name, the snapshot and the lane ages are read at each
    request, so the answer is as fresh as the last round and a reload applies."""

    def __init__(
        self, replica: Callable[[], str], snapshot: Callable[[], Snapshot], ages: LaneAges
    ) -> None:
        self._replica, self._snapshot, self._ages = replica, snapshot, ages

    def answer(self, target: str) -> Response:
        body = to_json(build_view(self._replica(), self._snapshot(), self._ages()))
        return Response(200, body, "application/json")
