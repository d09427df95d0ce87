"""Probes of slurmdbd: ``sacctmgr ping`` (24.11+), ``sacctmgr show stats`` (before), the
controller registered with it, and whether each instance listens on its port."""

from __future__ import annotations

import socket
import time

from monitor.probes.base import (
    Clock,
    ProbeResult,
    ProbeSpec,
    ProbeTarget,
    Trigger,
    address_of,
    command_probe,
)
from monitor.reasons import Reason


def probe_dbd_ping(target: ProbeTarget, timeout: float, clock: Clock) -> ProbeResult:
    """``sacctmgr ping``: every slurmdbd instance and whether it answers (Slurm 24.11+)."""
    return command_probe(DBD_PING, target, timeout, clock)


def probe_dbd_stats(target: ProbeTarget, timeout: float, clock: Clock) -> ProbeResult:
    """``sacctmgr show stats``: one round trip to the serving slurmdbd (its health before
    24.11). ``Data since`` is that slurmdbd's start time."""
    return command_probe(DBD_STATS, target, timeout, clock)


def probe_controlhost(target: ProbeTarget, timeout: float, clock: Clock) -> ProbeResult:
    """The slurmctld registered with slurmdbd. It lags a failback by a minute or more, so the
    verdict uses it only when ping cannot tell."""
    return command_probe(CONTROLHOST, target, timeout, clock)


def probe_dbd_listen(target: ProbeTarget, timeout: float, clock: Clock) -> ProbeResult:
    """TCP connect to each slurmdbd instance's port, as ``{role: (host, listening)}``.

    A standby backup slurmdbd does not listen at all, so "not listening" is evidence about
    the primary and about a backup only while the primary is gone.
    """
    started = clock()
    t0 = time.monotonic()
    if not target.dbd_endpoints:
        return ProbeResult(
            "dbd_listen",
            started,
            0.0,
            None,
            Reason.COMMAND_FAILED,
            "slurmdbd hosts not known yet (no show-config answer)",
        )
    listening: dict[str, tuple[str, bool, str]] = {}
    for role, host, port in target.dbd_endpoints:
        address, port = address_of(target.cluster.host_addresses.get(host), host, port)
        listening[role] = (host, *_connect(address, port, timeout))
    return ProbeResult("dbd_listen", started, time.monotonic() - t0, listening)


def _connect(host: str, port: int, timeout: float) -> tuple[bool, str]:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True, ""
    except TimeoutError:
        return False, "timeout"
    except OSError as exc:
        return False, exc.strerror or str(exc)


# From 24.11 ``sacctmgr ping`` lists each instance; before, ``show stats`` stands in.
DBD_PING = ProbeSpec(
    "dbd_ping",
    "slurmdbd",
    probe_dbd_ping,
    kind="sacctmgr-ping",
    argv=("sacctmgr", "ping"),
    json_argv=("sacctmgr", "ping", "--json"),
    since=(24, 11),
    accounting=True,
)
DBD_STATS = ProbeSpec(
    "dbd_stats",
    "slurmdbd",
    probe_dbd_stats,
    kind="sacctmgr-stats",
    argv=("sacctmgr", "show", "stats"),
    json_argv=("sacctmgr", "show", "stats", "--json"),
    until=(24, 11),
    accounting=True,
)
CONTROLHOST = ProbeSpec(
    "controlhost",
    "slurmdbd",
    probe_controlhost,
    kind="cluster",
    argv=("sacctmgr", "-nP", "show", "cluster", "format=cluster,controlhost,controlport,rpc"),
    json_argv=("sacctmgr", "--json", "show", "cluster"),
    accounting=True,
)
# Also on rest clusters whose monitor reaches the slurmdbd hosts: slurmrestd before 24.11
# has no slurmdbd ping, and from 24.11 it lists a backup only while the primary is silent.
DBD_LISTEN = ProbeSpec(
    "dbd_listen", "slurmdbd", probe_dbd_listen, trigger=Trigger.DBD_HOSTS_KNOWN,
    accounting=True, backends=frozenset({"cli", "rest"}), reaches_hosts=True,
)  # fmt: skip
