"""Probes, one small module per daemon, all behind one signature.

``REGISTRY`` is the only place a probe is registered.
"""

from __future__ import annotations

from monitor.probes.base import Probe, ProbeResult, ProbeTarget
from monitor.probes.munge import probe_munge
from monitor.probes.slurmctld import probe_ping, probe_sdiag, probe_show_config
from monitor.probes.slurmdbd import (
    probe_controlhost,
    probe_dbd_listen,
    probe_dbd_ping,
    probe_dbd_stats,
)

REGISTRY: dict[str, Probe] = {
    "ping": probe_ping,
    "show_config": probe_show_config,
    "sdiag": probe_sdiag,
    "dbd_ping": probe_dbd_ping,
    "dbd_stats": probe_dbd_stats,
    "controlhost": probe_controlhost,
    "dbd_listen": probe_dbd_listen,
    "munge": probe_munge,
}

# Commands that legitimately take 9-12 s while a controller fails; they get the long timeout.
SLOW_PROBES = frozenset({"show_config", "sdiag"})

__all__ = ["REGISTRY", "SLOW_PROBES", "Probe", "ProbeResult", "ProbeTarget"]
