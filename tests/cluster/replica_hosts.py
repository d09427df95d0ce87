"""Hosts for monitor replicas (issue 17's HA tests): ``mon1`` and ``mon2``, each its own
network, UTS, mount and PID namespace on the lab's bridge, with the hub's client view
(the lab's /etc/hosts, slurm.conf and munge socket under the lab directory, the release's
Slurm clients), so each replica runs ``slurm-sla run`` from its own address.

Made on the first request (``lab.replica_hosts.ensure()``), so a lab no test asks them of
starts as fast as before; ``remove()`` takes them away again (else they go with the lab's
other namespaces on stop).

``isolate(host)``: the host loses every path to the cluster's daemons (ctl*, dbd*, db) and
keeps its paths to the other replica, the hub (the Alertmanagers there) and the nodes: an
``unreachable`` route per daemon address in that host's namespace, so a probe fails at
once with "No route to host", as behind a router that lost the cluster's network.
``rejoin(host)`` / ``heal()`` undo it; ``lab.heal()`` calls ``heal()``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.cluster import layout, netns

if TYPE_CHECKING:
    from tests.cluster.lab import Lab

REPLICA_HOSTS: dict[str, str] = {"mon1": f"{layout.SUBNET}.41", "mon2": f"{layout.SUBNET}.42"}
CLUSTER_SIDE = ("ctl1", "ctl2", "dbd1", "dbd2", "db")  # what isolate() takes away


class ReplicaHosts:
    def __init__(self, lab: Lab) -> None:
        self._lab = lab
        self.isolated: set[str] = set()

    def ensure(self) -> dict[str, str]:
        """Create the hosts not there yet; host -> address."""
        hosts = self._lab.hosts
        if hosts is None:
            raise RuntimeError("the lab is not running")
        for host, addr in REPLICA_HOSTS.items():
            if host not in hosts.inits:
                hosts.add(host, addr)
        self._lab._save_state()  # recorded: a crashed run's cleanup finds their inits
        return dict(REPLICA_HOSTS)

    def remove(self) -> None:
        """Take the replica hosts away again (the lab is then as a start leaves it)."""
        hosts = self._lab.hosts
        if hosts is None:
            return  # the lab stopped: nothing of them is left
        self.heal()
        for host in REPLICA_HOSTS:
            if host in hosts.inits:
                hosts.remove(host)
        self._lab._save_state()

    def address(self, host: str) -> str:
        return REPLICA_HOSTS[host]

    def isolate(self, host: str) -> None:
        for target in CLUSTER_SIDE:
            netns.ip("-n", layout.netns_name(host), "route", "replace", "unreachable",
                     f"{layout.HOSTS[target]}/32")  # fmt: skip
        self.isolated.add(host)

    def rejoin(self, host: str) -> None:
        for target in CLUSTER_SIDE:
            netns.ip("-n", layout.netns_name(host), "route", "del", "unreachable",
                     f"{layout.HOSTS[target]}/32", check=False)  # fmt: skip
        self.isolated.discard(host)

    def heal(self) -> None:
        for host in sorted(self.isolated):
            self.rejoin(host)
