"""Parser of ``scontrol show config``: the controller's running configuration.

The text (``slurm_print_ctl_conf`` in src/api/config_info.c, then scontrol's ping)::

    Configuration data as of 2026-11-26T09:20:20
    AccountingStorageBackupHost = dbd2
    AccountingStorageHost   = dbd1
    AuthInfo                = socket=/run/munge/munge.socket.2
    BOOT_TIME               = 2026-11-26T09:20:20
    SlurmctldHost[0]        = ctl1(10.0.0.1)
    SlurmctldHost[1]        = ctl2
    SLURM_VERSION           = 22.05.8
    ...

    Cgroup Support Configuration:
    CgroupMountpoint        = /sys/fs/cgroup
    ...

    Slurmctld(primary) at ctl1 is UP
    Slurmctld(backup) at ctl2 is UP

Every ``KEY = VALUE`` line is printed as ``"%-23s = %s"``: the key has no blanks, the value is
everything after the first ``" = "`` and may hold blanks, ``=`` and parentheses; Slurm prints
``(null)`` for an unset string. ``SlurmctldHost[i]`` carries ``(address)`` only when the
address differs from the host name, so a missing one means the address *is* the host name.

Decision on the plugin sections that follow the main list (``Account Gather``, ``Cgroup
Support``, ``External Sensors``, ``MPI Plugins``, ``Node Features`` with ``----- plugin -----``
sub-headers, ``Select Plugin``): they are kept apart from ``settings`` (whose keys are
slurm.conf's) as ordered ``sections``, because their keys may repeat (Node Features prints one
``Feature`` line per feature) and may clash with slurm.conf names. The trailing ping lines are
parsed by :mod:`monitor.parsers.ping` and reported as ``pings``. ``scontrol show config`` has
no ``--json`` form here: a JSON document is an error, never a guess.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NoReturn

from monitor.errors import ParseError
from monitor.parsers.common import (
    auth_info_socket,
    clean_text,
    guarded,
    looks_like_json,
    numbered_lines,
)
from monitor.parsers.ping import BANNER, PingReport, parse_ping_line, parse_ping_lines

WHAT = "scontrol show config"

_HEADER = re.compile(r"^Configuration data as of (?P<time>\S.*)$")
_KEY_LINE = re.compile(r"^(?P<key>[^\s=]+) +=(?: (?P<value>.*))?$")
_SECTION = re.compile(r"^(?P<title>[A-Z][A-Za-z ]* Configuration):$")
_SELECT = "Select Plugin Configuration"  # printed with no colon and no newline after it
_PLUGIN = re.compile(r"^----- (?P<plugin>\S+) -----$")
_CONTROLLER_KEY = re.compile(r"^SlurmctldHost\[(?P<index>\d+)\]$")
_CONTROLLER = re.compile(r"^(?P<host>[^\s()]+)(?:\((?P<addr>[^\s()]+)\))?$")
_SECONDS = re.compile(r"^(?P<n>\d+) sec$")
_PORTS = re.compile(r"^(?P<low>\d+)(?:-(?P<high>\d+))?$")


@dataclass(frozen=True)
class Controller:
    """One ``SlurmctldHost[i]``; ``address`` is the host name when Slurm printed none."""

    hostname: str
    address: str

    def to_dict(self) -> dict[str, Any]:
        return {"hostname": self.hostname, "address": self.address}


@dataclass(frozen=True)
class ConfigSection:
    """A plugin section after the main list, e.g. ``Cgroup Support Configuration``."""

    title: str  # without the trailing colon
    plugin: str | None  # the ``----- name -----`` sub-header (Node Features), else None
    items: tuple[tuple[str, str], ...]  # (key, value) in Slurm's order; keys may repeat

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "plugin": self.plugin,
            "settings": [{"key": k, "value": v} for k, v in self.items],
        }


@dataclass(frozen=True)
class SlurmConfig:
    """``scontrol show config`` with typed accessors for what the monitor needs."""

    generated_at: str  # "Configuration data as of ...", local time of the command's host
    settings: Mapping[str, str]
    controllers: tuple[Controller, ...]
    boot_time: str
    version: str
    sections: tuple[ConfigSection, ...] = ()
    pings: PingReport | None = None
    cluster_name: str | None = None
    accounting_storage_host: str | None = None
    accounting_storage_backup_host: str | None = None
    accounting_storage_port: int | None = None
    slurmctld_port: int | None = None
    slurmctld_port_count: int = 1  # SlurmctldPort=6817-6820 gives 6817 and 4
    slurmctld_timeout: int | None = None  # seconds
    message_timeout: int | None = None  # seconds
    auth_info: str | None = None
    munge_socket: str | None = None  # ``socket=PATH`` of AuthInfo, where set
    line_numbers: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "settings": dict(self.settings),
            "controllers": [c.to_dict() for c in self.controllers],
            "boot_time": self.boot_time,
            "version": self.version,
        }
        if self.sections:
            doc["sections"] = [s.to_dict() for s in self.sections]
        if self.pings is not None:
            doc["pings"] = self.pings.to_dict()["pings"]
        return doc


@guarded(WHAT)
def parse(text: str) -> SlurmConfig:
    """Parse ``scontrol show config`` text output."""
    text = clean_text(text, WHAT)
    if looks_like_json(text):
        raise ParseError(f"{WHAT}: JSON input, but only the text form of show config is parsed")
    lines = numbered_lines(text)
    body = [(no, line) for no, line in lines if line.strip()]
    no, first = body[0]
    header = _HEADER.match(first.strip())
    if header is None:
        raise ParseError(
            f"{WHAT}: not scontrol show config output: expected 'Configuration data as of ...'",
            no,
            first,
        )
    settings, where, sections, rest = _read_settings(body[1:])
    pings = None
    if rest:
        ping_lines, banner = parse_ping_lines(rest, "slurmctld", WHAT)
        pings = PingReport(ping_lines, "slurmctld", "text", banner)
    return _build(header["time"], settings, where, sections, pings)


def _read_settings(
    body: list[tuple[int, str]],
) -> tuple[dict[str, str], dict[str, int], list[ConfigSection], list[tuple[int, str]]]:
    """Main settings, plugin sections, and the trailing ping lines (left unparsed)."""
    settings: dict[str, str] = {}
    where: dict[str, int] = {}
    sections: list[ConfigSection] = []
    current: tuple[str, str | None, list[tuple[str, str]]] | None = None

    def close() -> None:
        if current is not None:
            sections.append(ConfigSection(current[0], current[1], tuple(current[2])))

    for index, (no, raw) in enumerate(body):
        line = raw.strip()
        if parse_ping_line(line) is not None or line == BANNER[0]:
            close()
            return settings, where, sections, body[index:]
        if _HEADER.match(line):
            raise ParseError(f"{WHAT}: a second 'Configuration data' header", no, raw)
        section = _SECTION.match(line)
        if section is not None or line.startswith(_SELECT):
            close()
            title = section["title"] if section else _SELECT
            current = (title, None, [])
            line = "" if section else line[len(_SELECT) :]
            if not line:
                continue
        plugin = _PLUGIN.match(line)
        if plugin is not None:
            if current is None:
                raise ParseError(f"{WHAT}: plugin sub-header outside a section", no, raw)
            if current[1] is not None or current[2]:
                close()
            current = (current[0], plugin["plugin"], [])
            continue
        match = _KEY_LINE.match(line)
        if match is None:
            raise ParseError(f"{WHAT}: expected 'KEY = VALUE'", no, raw)
        key, value = match["key"], match["value"] or ""
        if current is not None:
            current[2].append((key, value))
        elif key in settings:
            raise ParseError(f"{WHAT}: {key} printed twice (mixed output?)", no, raw)
        else:
            settings[key] = value
            where[key] = no
    close()
    return settings, where, sections, []


def _build(
    generated_at: str,
    settings: dict[str, str],
    where: dict[str, int],
    sections: list[ConfigSection],
    pings: PingReport | None,
) -> SlurmConfig:
    values = _Values(settings, where)
    for required in ("BOOT_TIME", "SLURM_VERSION"):
        if required not in settings:
            raise ParseError(f"{WHAT}: no {required} line (truncated output?)")
    ports = values.ports("SlurmctldPort")
    auth_info = values.text("AuthInfo")
    return SlurmConfig(
        generated_at=generated_at,
        settings=MappingProxyType(dict(settings)),
        controllers=_controllers(settings, where),
        boot_time=settings["BOOT_TIME"],
        version=settings["SLURM_VERSION"],
        sections=tuple(sections),
        pings=pings,
        cluster_name=values.text("ClusterName"),
        accounting_storage_host=values.text("AccountingStorageHost"),
        accounting_storage_backup_host=values.text("AccountingStorageBackupHost"),
        accounting_storage_port=values.integer("AccountingStoragePort"),
        slurmctld_port=ports[0] if ports else None,
        slurmctld_port_count=ports[1] if ports else 1,
        slurmctld_timeout=values.seconds("SlurmctldTimeout"),
        message_timeout=values.seconds("MessageTimeout"),
        auth_info=auth_info,
        munge_socket=auth_info_socket(auth_info),
        line_numbers=MappingProxyType(dict(where)),
    )


def _controllers(settings: dict[str, str], where: dict[str, int]) -> tuple[Controller, ...]:
    found: dict[int, Controller] = {}
    for key, value in settings.items():
        index = _CONTROLLER_KEY.match(key)
        if index is None:
            continue
        match = _CONTROLLER.match(value)
        if match is None:
            raise ParseError(
                f"{WHAT}: {key}: expected 'host' or 'host(address)'",
                where[key],
                f"{key} = {value}",
            )
        found[int(index["index"])] = Controller(match["host"], match["addr"] or match["host"])
    if sorted(found) != list(range(len(found))):
        raise ParseError(f"{WHAT}: SlurmctldHost indexes {sorted(found)} are not 0..n-1")
    return tuple(found[i] for i in range(len(found)))


class _Values:
    """Typed reads of settings; a malformed value names its line."""

    def __init__(self, settings: dict[str, str], where: dict[str, int]):
        self._settings = settings
        self._where = where

    def text(self, key: str) -> str | None:
        value = self._settings.get(key)
        return None if value in (None, "", "(null)") else value

    def integer(self, key: str) -> int | None:
        value = self.text(key)
        if value is None:
            return None
        if not value.isdigit():
            self._fail(key, "expected a whole number")
        return int(value)

    def seconds(self, key: str) -> int | None:
        value = self.text(key)
        if value is None:
            return None
        match = _SECONDS.match(value)
        if match is None:
            self._fail(key, "expected 'N sec'")
        return int(match["n"])

    def ports(self, key: str) -> tuple[int, int] | None:
        value = self.text(key)
        if value is None:
            return None
        match = _PORTS.match(value)
        if match is None:
            self._fail(key, "expected 'PORT' or 'LOW-HIGH'")
        low = int(match["low"])
        high = int(match["high"]) if match["high"] else low
        if high < low:
            self._fail(key, "port range ends below its start")
        return low, high - low + 1

    def _fail(self, key: str, problem: str) -> NoReturn:
        line = f"{key} = {self._settings[key]}"
        raise ParseError(f"{WHAT}: {key}: {problem}", self._where[key], line)
