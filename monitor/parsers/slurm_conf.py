"""Parser of ``slurm.conf`` itself, for what the monitor must know even when no controller
answers ``scontrol show config``: the controllers, where slurmdbd listens, munge's socket.

The file is ``Key=Value`` pairs, several per line for node and partition lines,
case-insensitive keys, ``#`` comments, and (before 18.08) ``ControlMachine`` /
``BackupController`` instead of ``SlurmctldHost``::

    ClusterName=prod
    SlurmctldHost=ctl1(10.0.0.11)
    SlurmctldHost=ctl2
    AccountingStorageHost=dbd1
    AuthInfo=socket=/run/munge/munge.socket.2

``Include`` lines are not followed (they hold node lists in practice, never the settings
above); node, partition and other multi-key lines are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from monitor.errors import ParseError
from monitor.parsers.common import clean_text, guarded

WHAT = "slurm.conf"

# Keys we read, in Slurm's spelling: slurm.conf keys are case-insensitive.
_CANONICAL = {
    k.lower(): k
    for k in (
        "ClusterName",
        "SlurmctldHost",
        "ControlMachine",
        "ControlAddr",
        "BackupController",
        "BackupAddr",
        "AccountingStorageHost",
        "AccountingStorageBackupHost",
        "AccountingStoragePort",
        "AccountingStorageType",
        "AuthType",
        "AuthInfo",
        "MessageTimeout",
        "SlurmctldTimeout",
        "SlurmctldPort",
    )
}
_MULTI = ("nodename", "partitionname", "frontendname", "downnodes", "nodeset", "include")
_PAIR = re.compile(r"^(?P<key>[A-Za-z][A-Za-z0-9_]*)\s*=\s*(?P<value>.*?)\s*$")
_HOST = re.compile(r"^(?P<host>[^\s()]+)(?:\((?P<addr>[^\s()]+)\))?$")


@dataclass(frozen=True)
class SlurmConf:
    settings: Mapping[str, str]
    controllers: tuple[tuple[str, str], ...]  # (hostname, address)

    @property
    def message_timeout(self) -> int | None:
        """Seconds, as written (slurm.conf gives a bare number); None unset or not positive."""
        value = self.settings.get("MessageTimeout", "").strip()
        return int(value) if value.isdigit() and int(value) > 0 else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "settings": dict(self.settings),
            "controllers": [{"hostname": h, "address": a} for h, a in self.controllers],
        }


@guarded(WHAT)
def parse(text: str) -> SlurmConf:
    clean_text(text, WHAT)
    settings: dict[str, str] = {}
    controllers: list[tuple[str, str]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line or line.lower().startswith(_MULTI):
            continue
        m = _PAIR.match(line)
        if m is None:
            raise ParseError(f"{WHAT}: expected Key=Value", number, raw)
        key = _CANONICAL.get(m.group("key").lower(), m.group("key"))
        value = m.group("value")
        if key == "SlurmctldHost":
            host = _HOST.match(value)
            if host is None:
                raise ParseError(f"{WHAT}: bad SlurmctldHost", number, raw)
            controllers.append((host.group("host"), host.group("addr") or host.group("host")))
        else:
            settings[key] = value
    if not controllers and "ControlMachine" in settings:  # before Slurm 18.08
        controllers.append(
            (settings["ControlMachine"], settings.get("ControlAddr", settings["ControlMachine"]))
        )
        if "BackupController" in settings:
            controllers.append(
                (
                    settings["BackupController"],
                    settings.get("BackupAddr", settings["BackupController"]),
                )
            )
    if not controllers and not settings:
        raise ParseError(f"{WHAT}: no settings found")
    return SlurmConf(settings, tuple(controllers))
