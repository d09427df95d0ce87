"""Fixed shape of the test cluster: hosts, addresses, daemons, names.

Only one lab can run on a machine at a time (the names and the /24 are fixed, and a lock
in /run enforces it), so these are constants rather than settings.
"""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "sslab"  # namespaces, temp dirs, lock file and veth names start with it
SUBNET = "10.219.77"  # a private /24 used only inside the lab's namespaces
SUBNET_CIDR = f"{SUBNET}.0/24"
LOCK_FILE = f"/run/{PREFIX}.lock"
# Every host apt-get of the test suite takes this lock (tests/support/debian.py too): the
# real-cluster tests and the others may run at once (`python -m tests`).
APT_LOCKED = ("flock", "--timeout", "1800", "/run/slurm-sla-tests-apt.lock")
BRIDGE = "br0"  # lives in the hub namespace

# host -> address. The hub carries the bridge and the clients (and the monitor under test).
HOSTS: dict[str, str] = {
    "hub": f"{SUBNET}.1",
    "db": f"{SUBNET}.5",
    "ctl1": f"{SUBNET}.11",
    "ctl2": f"{SUBNET}.12",
    "dbd1": f"{SUBNET}.21",
    "dbd2": f"{SUBNET}.22",
    "c1": f"{SUBNET}.31",
    "c2": f"{SUBNET}.32",
}

CLUSTER_NAME = "lab"
SLURMCTLD_PORT = 6817
SLURMD_PORT = 6818
SLURMDBD_PORT = 6819
MARIADB_PORT = 3306
DB_NAME = "slurm_acct_db"
DB_USER = "slurm"

PACKAGES = (
    "slurmctld",
    "slurmd",
    "slurmdbd",
    "slurm-client",
    "slurmrestd",  # REST backend tests (started only when a test asks: restd.py)
    "slurm-wlm-jwt-plugin",  # auth/jwt in slurmctld and slurmdbd (slurmrestd's tokens)
    "munge",
    "mariadb-server",
    "iproute2",
    "procps",
)

# Client programs that get a wrapper in <tmp>/bin running them in the hub namespace.
CLIENT_PROGRAMS = (
    "scontrol",
    "sdiag",
    "sacctmgr",
    "sinfo",
    "squeue",
    "srun",
    "sbatch",
    "scancel",
    "munge",
    "unmunge",
)


@dataclass(frozen=True)
class Daemon:
    """One daemon of the lab: its control name, the host it runs on, its program."""

    name: str
    host: str | None  # None: the root namespace (munged)
    program: str  # the executable's file name, also its /proc comm


DAEMONS: dict[str, Daemon] = {
    d.name: d
    for d in (
        Daemon("munge", None, "munged"),
        Daemon("db", "db", "mariadbd"),
        Daemon("dbd1", "dbd1", "slurmdbd"),
        Daemon("dbd2", "dbd2", "slurmdbd"),
        Daemon("ctl1", "ctl1", "slurmctld"),
        Daemon("ctl2", "ctl2", "slurmctld"),
        Daemon("c1", "c1", "slurmd"),
        Daemon("c2", "c2", "slurmd"),
    )
}

# Start order: each daemon needs the ones before it (the very first slurmctld start
# needs slurmdbd for TRES; slurmd needs a controller to register with).
START_ORDER = ("munge", "db", "dbd1", "dbd2", "ctl1", "ctl2", "c1", "c2")
CONTROLLERS = ("ctl1", "ctl2")
DBDS = ("dbd1", "dbd2")
NODES = ("c1", "c2")


def netns_name(host: str) -> str:
    return f"{PREFIX}-{host}"


def veth_name(host: str) -> str:
    """The hub-side end of a host's veth pair (the host side is eth0)."""
    return f"v-{host}"
