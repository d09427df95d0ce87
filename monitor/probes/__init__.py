"""Probes, one small module per daemon, each declared once (:class:`ProbeSpec`) beside
the function that runs it, all behind one signature.

``CATALOG`` is the only list of probes: the prober runs from it, the demo's simulator
writes its stand-in commands from it, and the fixture recorder records what it declares.
"""

from __future__ import annotations

from monitor.probes.base import Probe, ProbeResult, ProbeSpec, ProbeTarget, Trigger, Version
from monitor.probes.ctl_listen import CTL_LISTEN
from monitor.probes.munge import MUNGE
from monitor.probes.readyz import READYZ
from monitor.probes.rest import REST_DBD_DIAG, REST_DBD_PING, REST_DIAG, REST_PING
from monitor.probes.slurmctld import PING, SDIAG, SHOW_CONFIG
from monitor.probes.slurmdbd import CONTROLHOST, DBD_LISTEN, DBD_PING, DBD_STATS

CATALOG: tuple[ProbeSpec, ...] = (
    PING,
    READYZ,
    SHOW_CONFIG,
    SDIAG,
    MUNGE,
    DBD_PING,
    DBD_STATS,
    CONTROLHOST,
    DBD_LISTEN,
    REST_PING,
    CTL_LISTEN,
    REST_DIAG,
    REST_DBD_PING,
    REST_DBD_DIAG,
)


def for_backend(backend: str) -> dict[str, ProbeSpec]:
    """The probes of one backend by name (a REST probe has its CLI counterpart's name)."""
    return {spec.name: spec for spec in CATALOG if backend in spec.backends}


BY_NAME: dict[str, ProbeSpec] = for_backend("cli")


def slurm_commands() -> tuple[ProbeSpec, ...]:
    """The probes that run a Slurm command (what the simulator and the recorder need)."""
    return tuple(spec for spec in CATALOG if spec.argv)


__all__ = [
    "BY_NAME",
    "CATALOG",
    "Probe",
    "ProbeResult",
    "ProbeSpec",
    "ProbeTarget",
    "Trigger",
    "Version",
    "for_backend",
    "slurm_commands",
]
