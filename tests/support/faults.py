"""Breaking and mending the lab the way the alert matrix names it, and measuring the
outage each fault causes as a client sees it (the yardstick for the SLA count)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from tests.cluster.lab import Lab
from tests.support.alert_matrix import Fault

CTL_FAULTS = (
    Fault.PRIMARY_SLURMCTLD,
    Fault.BACKUP_SLURMCTLD,
    Fault.BOTH_SLURMCTLD,
    Fault.FROZEN_PRIMARY,
    Fault.PRIMARY_LINK_CUT,
)
DBD_FAULTS = (Fault.PRIMARY_SLURMDBD, Fault.BACKUP_SLURMDBD, Fault.BOTH_SLURMDBD, Fault.MARIADB)

# Which service a fault takes down for every client (the rest are failovers or losses of
# redundancy, not outages, by the product's definition). A cut-off primary is one: the
# backup stays in standby while the primary's heartbeat goes on, and no controller serves.
OUTAGES: dict[Fault, str] = {
    Fault.BOTH_SLURMCTLD: "slurmctld",
    Fault.PRIMARY_LINK_CUT: "slurmctld",
    Fault.BOTH_SLURMDBD: "slurmdbd",
    Fault.MARIADB: "slurmdbd",
}


@dataclass
class Outage:
    service: str
    start: float  # time.time()
    end: float | None = None

    @property
    def seconds(self) -> float:
        assert self.end is not None
        return self.end - self.start


def break_(lab: Lab, fault: Fault) -> None:
    """Apply ``fault``; return once it is in effect."""
    actions: dict[Fault, Callable[[], None]] = {
        Fault.PRIMARY_SLURMCTLD: lambda: lab.kill("ctl1"),
        Fault.BACKUP_SLURMCTLD: lambda: lab.kill("ctl2"),
        Fault.BOTH_SLURMCTLD: lambda: (lab.kill("ctl1"), lab.kill("ctl2")),
        Fault.PRIMARY_SLURMDBD: lambda: lab.kill("dbd1"),
        Fault.BACKUP_SLURMDBD: lambda: lab.kill("dbd2"),
        Fault.BOTH_SLURMDBD: lambda: (lab.kill("dbd1"), lab.kill("dbd2")),
        Fault.MARIADB: lambda: lab.kill("db"),
        Fault.MUNGE_ON_MONITOR_HOST: lambda: lab.kill("munge"),
        Fault.FROZEN_PRIMARY: lambda: lab.freeze("ctl1"),
        Fault.PRIMARY_LINK_CUT: lambda: lab.cut_link("ctl1"),
    }
    actions[fault]()


def staggered_double_failure(lab: Lab, gap: float = 4.0) -> None:
    """Issue 12's case: the primary killed, the backup killed ``gap`` s later, before its
    takeover. The outage (as the SLA counts it) starts at the second kill."""
    lab.kill("ctl1")
    time.sleep(gap)
    lab.kill("ctl2")


def restore_service(lab: Lab, service: str, timeout: float = 90) -> float:
    """Restart (or reconnect) what an outage of ``service`` stopped; return time.time()
    when a client gets an answer again (the primary slurmctld answers ping: a backup
    answers in standby too; sacctmgr reaches slurmdbd)."""
    names = ("ctl1", "ctl2") if service == "slurmctld" else ("db", "dbd1", "dbd2")
    reconnected = None
    for name in names:
        if name in lab.cut_links:
            lab.restore_link(name)
            reconnected = time.time()  # a cut-off primary serves again the moment it is seen
        lab.restore(name)
    deadline = time.monotonic() + timeout
    last_miss = 0.0
    while time.monotonic() < deadline:
        # The check's own start: the monitor dates a round by its start too, and a check
        # through the lab's namespaces takes up to a second (26.05's ping), which counted
        # against the monitor as if the service had come back that much later.
        asked = time.time()
        if service == "slurmctld":
            if lab.ping().get("ctl1") == "UP":
                # A reconnected primary was back before this check: no earlier than the
                # reconnection, nor than the last check that still missed it.
                return asked if reconnected is None else max(reconnected, last_miss)
        elif "serving" in lab.dbd_states().values():
            return asked
        last_miss = asked
        time.sleep(0.1)
    raise AssertionError(f"{service} did not answer within {timeout} s of the restore")
