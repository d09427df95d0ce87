"""Paths of a lab directory and the configuration files written into it (pure text)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from tests.cluster import layout


@dataclass(frozen=True)
class Paths:
    """Where everything of one lab lives, under one temporary directory."""

    root: Path

    @property
    def etc(self) -> Path:
        return self.root / "etc"

    @property
    def slurm_conf(self) -> Path:
        return self.etc / "slurm.conf"

    @property
    def slurmdbd_conf(self) -> Path:
        return self.etc / "slurmdbd.conf"

    @property
    def hosts_file(self) -> Path:
        return self.etc / "hosts"

    @property
    def local(self) -> Path:
        """Same path on every host; a per-host directory is bind-mounted over it, because
        slurmctld and slurmdbd have no %n in their pid and log file names."""
        return self.root / "local"

    def host_dir(self, host: str) -> Path:
        return self.root / "hosts" / host

    def probe_conf(self, target: str) -> Path:
        """A slurm.conf naming a single controller or slurmdbd (see render_probe_conf)."""
        return self.root / "probe" / target / "slurm.conf"

    @property
    def state(self) -> Path:
        return self.root / "state"  # StateSaveLocation, shared by ctl1 and ctl2

    @property
    def jwt_key(self) -> Path:
        """The HS256 key of auth/jwt (slurmrestd's tokens), 0600, owned by SlurmUser."""
        return self.etc / "jwt.key"

    @property
    def munge_dir(self) -> Path:
        return self.root / "munge"

    @property
    def munge_socket(self) -> Path:
        return self.munge_dir / "munge.socket"

    @property
    def munge_key(self) -> Path:
        return self.munge_dir / "munge.key"

    @property
    def db_dir(self) -> Path:
        return self.root / "db"

    @property
    def db_data(self) -> Path:
        return self.db_dir / "data"

    @property
    def db_socket(self) -> Path:
        return self.db_dir / "mysqld.sock"

    @property
    def ns_dir(self) -> Path:
        return self.root / "ns"

    @property
    def bin_dir(self) -> Path:
        return self.root / "bin"

    @property
    def hub_bin_dir(self) -> Path:
        """Wrappers for code already running on the hub (the <tmp>/bin ones enter the hub
        from the root namespace and do not work from inside it)."""
        return self.root / "hubbin"

    @property
    def state_file(self) -> Path:
        """What a later run needs to clean up after a crash of this one."""
        return self.root / "lab.json"

    def log_file(self, daemon: str) -> Path:
        d = layout.DAEMONS[daemon]
        if d.host is None:
            return self.munge_dir / "munged.log"
        if d.program == "mariadbd":
            return self.db_dir / "mariadbd.log"
        return self.host_dir(d.host) / f"{d.program}.log"

    def stdio_file(self, daemon: str) -> Path:
        """stdout+stderr of the daemon process (startup failures land here)."""
        d = layout.DAEMONS[daemon]
        return self.root / "stdio" / f"{d.name}.out"


def render_hosts() -> str:
    lines = ["127.0.0.1\tlocalhost"]
    lines += [f"{addr}\t{host}" for host, addr in layout.HOSTS.items()]
    return "\n".join(lines) + "\n"


def render_slurm_conf(
    paths: Paths,
    controllers: tuple[str, ...] = layout.CONTROLLERS,
    dbds: tuple[str, ...] = layout.DBDS,
    message_timeout: int = 10,
) -> str:
    local = paths.local
    lines = [f"ClusterName={layout.CLUSTER_NAME}"]
    lines += [f"SlurmctldHost={h}({layout.HOSTS[h]})" for h in controllers]
    lines += [f"AccountingStorageHost={dbds[0]}"]
    if len(dbds) > 1:
        lines += [f"AccountingStorageBackupHost={dbds[1]}"]
    lines += [
        "SlurmUser=root",
        "SlurmdUser=root",
        f"SlurmctldPort={layout.SLURMCTLD_PORT}",
        f"SlurmdPort={layout.SLURMD_PORT}",
        "AuthType=auth/munge",
        f"AuthInfo=socket={paths.munge_socket}",
        # Tokens for slurmrestd (scontrol token); munge stays the daemons' own auth.
        "AuthAltTypes=auth/jwt",
        f"AuthAltParameters=jwt_key={paths.jwt_key}",
        "CredType=cred/munge",
        "AccountingStorageType=accounting_storage/slurmdbd",
        f"AccountingStoragePort={layout.SLURMDBD_PORT}",
        # With a non-default munge socket slurmctld->slurmdbd needs it here too.
        f"AccountingStoragePass={paths.munge_socket}",
        f"StateSaveLocation={paths.state}",
        f"SlurmctldPidFile={local}/slurmctld.pid",
        f"SlurmctldLogFile={local}/slurmctld.log",
        f"SlurmdPidFile={local}/slurmd.pid",
        f"SlurmdLogFile={local}/slurmd.log",
        f"SlurmdSpoolDir={local}/spool",
        "SlurmctldDebug=info",
        "SlurmdDebug=info",
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "JobAcctGatherType=jobacct_gather/none",
        "JobCompType=jobcomp/none",
        "SchedulerType=sched/backfill",
        "SchedulerParameters=bf_interval=5",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core",
        "MpiDefault=none",
        # Short timeouts: takeover 7-9 s after the primary dies.
        "SlurmctldTimeout=6",
        "SlurmdTimeout=30",
        f"MessageTimeout={message_timeout}",
        "InactiveLimit=0",
        "KillWait=5",
        "MinJobAge=30",
        "ReturnToService=2",
        "MailProg=/bin/true",
    ]
    lines += [
        f"NodeName={n} NodeAddr={layout.HOSTS[n]} NodeHostname={n} CPUs=1 State=UNKNOWN"
        for n in layout.NODES
    ]
    lines += [f"PartitionName=debug Nodes={','.join(layout.NODES)} Default=YES State=UP"]
    return "\n".join(lines) + "\n"


def render_probe_conf(paths: Paths, target: str) -> str:
    """A client config that reaches exactly one controller (or one slurmdbd).

    A client with a single SlurmctldHost does not fall back to another controller and
    does not retry a standby one, so `sdiag` with it says whether that one controller is
    serving (rc 0), in standby (`backup controller in standby mode`) or not answering.
    The short MessageTimeout keeps a dead or frozen target from stalling the probe.
    """
    if target in layout.CONTROLLERS:
        return render_slurm_conf(paths, controllers=(target,), message_timeout=2)
    if target in layout.DBDS:
        return render_slurm_conf(paths, dbds=(target,), message_timeout=2)
    raise ValueError(f"no probe config for {target!r}")


def render_slurmdbd_conf(paths: Paths, db_password: str) -> str:
    local = paths.local
    return (
        "\n".join(
            [
                "AuthType=auth/munge",
                f"AuthInfo=socket={paths.munge_socket}",
                "AuthAltTypes=auth/jwt",
                f"AuthAltParameters=jwt_key={paths.jwt_key}",
                f"DbdHost={layout.DBDS[0]}",
                f"DbdBackupHost={layout.DBDS[1]}",
                f"DbdPort={layout.SLURMDBD_PORT}",
                "SlurmUser=root",
                "DebugLevel=info",
                f"LogFile={local}/slurmdbd.log",
                f"PidFile={local}/slurmdbd.pid",
                "StorageType=accounting_storage/mysql",
                "StorageHost=db",
                f"StoragePort={layout.MARIADB_PORT}",
                f"StorageUser={layout.DB_USER}",
                f"StoragePass={db_password}",
                f"StorageLoc={layout.DB_NAME}",
            ]
        )
        + "\n"
    )


def render_db_init_sql(db_password: str) -> str:
    user = f"'{layout.DB_USER}'@'%'"
    return (
        f"CREATE USER IF NOT EXISTS {user} IDENTIFIED BY '{db_password}';\n"
        f"GRANT ALL ON {layout.DB_NAME}.* TO {user};\n"
        "FLUSH PRIVILEGES;\n"
    )


def render_wrapper(enter_argv: list[str], program: str) -> str:
    """A shell wrapper that execs the program in the hub's namespaces, in place (same PID,
    so a caller that kills it on timeout kills the client itself). `program` is shell
    text ending in "$@" (runtime.Runtime.wrapper_argv); `enter_argv` may be empty (a
    wrapper used on the hub itself)."""
    prefix = "".join(shlex.quote(a) + " " for a in enter_argv)
    return f"#!/bin/sh\nexec {prefix}{program}\n"
