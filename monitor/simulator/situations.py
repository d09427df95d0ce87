"""What each simulated situation replays: a recorded situation of the real test cluster,
which slurmdbd instances listen, and whether munge works on the monitor's host."""

from __future__ import annotations

from dataclasses import dataclass

from monitor.probes import slurm_commands


@dataclass(frozen=True)
class Situation:
    recording: str  # the situation name of tests/fixtures/<kind>/22.05-<recording>.*
    dbd_listening: tuple[str, ...]  # roles whose port accepts connections
    munge_ok: bool = True
    description: str = ""


SITUATIONS: dict[str, Situation] = {
    "healthy": Situation("healthy", ("primary",), description="all daemons up"),
    "primary-killed": Situation(
        "primary-killed-after-takeover",
        ("primary",),
        description="primary slurmctld killed, backup serving",
    ),
    "backup-killed": Situation(
        "backup-killed", ("primary",), description="backup slurmctld killed"
    ),
    "both-killed": Situation(
        "both-killed", ("primary",), description="both slurmctld killed: no controller"
    ),
    "primary-unreachable": Situation(
        "primary-unreachable", ("primary",), description="primary cut off: split-brain protection"
    ),
    "dbd-primary-killed": Situation(
        "dbd-primary-killed", ("backup",), description="primary slurmdbd killed, backup serving"
    ),
    "both-dbd-killed": Situation("both-dbd-killed", (), description="both slurmdbd killed"),
    "mariadb-down": Situation(
        "mariadb-down", ("primary",), description="MariaDB down under slurmdbd"
    ),
    "primary-frozen": Situation(
        "primary-frozen", ("primary",), description="primary slurmctld frozen (SIGSTOP)"
    ),
    "munge-down": Situation(
        "munge-down",
        ("primary",),
        munge_ok=False,
        description="munge down on the monitor's host: blind",
    ),
}

# stand-in name -> (its arguments as the prober passes them, fixture kind): from the probes'
# own declarations, so a new probe command is simulated with no edit here.
COMMANDS: tuple[tuple[str, str, str], ...] = tuple(
    (spec.argv[0], " ".join(spec.argv[1:]), spec.kind or spec.name)
    for spec in slurm_commands()
)
