"""A cluster's layout as its configuration describes it: controllers in order, the slurmdbd
instances and their port, munge's socket. Pure: built from a parsed ``scontrol show config``
(what the controller runs with) or ``slurm.conf`` (when no controller answers)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from monitor.parsers.common import auth_info_socket
from monitor.parsers.show_config import SlurmConfig
from monitor.parsers.slurm_conf import SlurmConf

DEFAULT_DBD_PORT = 6819
DEFAULT_CTL_PORT = 6817


@dataclass(frozen=True)
class Topology:
    cluster_name: str | None = None
    controllers: tuple[tuple[str, str], ...] = ()  # (hostname, role)
    dbd: tuple[tuple[str, str, int], ...] = ()  # (role, hostname, port)
    munge_socket: Path | None = None
    source: str = "none"  # show_config | slurm_conf | none
    ctl_port: int = DEFAULT_CTL_PORT  # the first SlurmctldPort: RPCs, and HTTP from 25.11
    message_timeout: int | None = None  # seconds a client waits for one controller

    def ping_seconds(self) -> float | None:
        """What `scontrol ping` may take when no controller answers: MessageTimeout for
        each one in turn (20 s for a pair at Slurm's default), plus a margin."""
        if self.message_timeout is None or not self.controllers:
            return None
        return self.message_timeout * len(self.controllers) + 5.0


def controller_role(index: int, count: int) -> str:
    """Slurm's names: primary; ``backup`` when there are exactly two; else backup1, 2..."""
    if index == 0:
        return "primary"
    return "backup" if count == 2 else f"backup{index}"


def topology_from(config: SlurmConfig | SlurmConf) -> Topology:
    """What the running controller says (show config), or else slurm.conf."""
    if isinstance(config, SlurmConfig):
        hosts = [c.hostname for c in config.controllers]
        return _topology(config.settings, hosts, "show_config", config.message_timeout or None)
    hosts = [host for host, _ in config.controllers]
    return _topology(config.settings, hosts, "slurm_conf", config.message_timeout)


def _topology(
    settings: Mapping[str, str], hosts: Sequence[str], source: str, message_timeout: int | None
) -> Topology:
    controllers = tuple((h, controller_role(i, len(hosts))) for i, h in enumerate(hosts))
    dbd = []
    if "slurmdbd" in settings.get("AccountingStorageType", ""):
        port = _int(settings.get("AccountingStoragePort"))
        for role, key in (
            ("primary", "AccountingStorageHost"),
            ("backup", "AccountingStorageBackupHost"),
        ):
            host = settings.get(key)
            if host and host != "(null)":
                dbd.append((role, host, port))
    return Topology(
        settings.get("ClusterName"),
        controllers,
        tuple(dbd),
        _path(auth_info_socket(settings.get("AuthInfo"))),
        source,
        _int(str(settings.get("SlurmctldPort", "")).split("-")[0], DEFAULT_CTL_PORT),
        message_timeout,
    )


def _int(value: str | None, default: int = DEFAULT_DBD_PORT) -> int:
    try:
        port = int(str(value).strip())
    except (TypeError, ValueError):
        return default
    return port if 0 < port < 65536 else default


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None
