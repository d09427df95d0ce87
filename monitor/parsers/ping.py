"""Parser of ``scontrol ping``: which slurmctld instances answer a ping RPC.

Text, Slurm 18.08 and later: one line per ``SlurmctldHost``, in slurm.conf order, then (only
when run as root and only when one is DOWN) a three-line banner::

    Slurmctld(primary) at ctl1 is UP
    Slurmctld(backup) at ctl2 is DOWN
    *****************************************
    ** RESTORE SLURMCTLD DAEMON TO SERVICE **
    *****************************************

Slurm names the modes by position: ``primary``; ``backup`` when there are exactly two
controllers; ``backup1``, ``backup2``... when there are more. Before 18.08 one line covered
both controllers: ``Slurmctld(primary/backup) at ctl1/ctl2 are UP/DOWN``.

JSON, ``scontrol ping --json`` (23.02+), ``pings`` entries by data_parser version::

    v0.0.36-38  {"hostname": "ctl1", "ping": "UP", "status": 0, "mode": "primary"}
                (22.05's slurmrestd; ``status`` the return code)
    v0.0.39-41  {"hostname": "ctl1", "pinged": "UP", "latency": 1867, "mode": "primary"}
    v0.0.42-44  ... plus "responding": true, "primary": true
    v0.0.45     ... plus "status": "No error"

``mode`` is derived from the position (the same rule as above) wherever Slurm left it out.
A ping answers "is it up", never "which one is in control": a standby backup answers UP.

The line and JSON helpers here are shared with ``sacctmgr ping`` and ``scontrol show config``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from monitor.errors import ParseError
from monitor.parsers.common import (
    clean_text,
    guarded,
    json_list,
    json_meta,
    json_number,
    load_json,
    looks_like_json,
    numbered_lines,
)

WHAT = "scontrol ping"

BANNER = (
    "*****************************************",
    "** RESTORE SLURMCTLD DAEMON TO SERVICE **",
    "*****************************************",
)

_LINE = {
    "slurmctld": re.compile(
        r"^Slurmctld\((?P<mode>primary|backup\d*)\) at (?P<host>\S+) is (?P<state>UP|DOWN)$"
    ),
    "slurmdbd": re.compile(
        r"^slurmdbd\((?P<mode>primary|backup)\) at (?P<host>\S+) is (?P<state>UP|DOWN)$"
    ),
}
_SAMPLE = {
    "slurmctld": "Slurmctld(<mode>) at <host> is UP|DOWN",
    "slurmdbd": "slurmdbd(<mode>) at <host> is UP|DOWN",
}
# Before 18.08: "Slurmctld(primary/backup) at ctl1/ctl2 are UP/DOWN", "(NULL)" for an unset
# host, and no "at ..." at all when neither is set.
_LEGACY = re.compile(
    r"^Slurmctld\(primary/backup\) (?:at (?P<primary>[^/\s]+)/(?P<backup>\S+) )?"
    r"are (?P<pstate>UP|DOWN)/(?P<bstate>UP|DOWN)$"
)


@dataclass(frozen=True)
class Ping:
    """One daemon instance as ping reported it."""

    hostname: str
    mode: str  # as Slurm names it: primary, backup, backup1, ...
    responding: bool
    latency_us: int | None = None  # JSON only: microseconds to the answer or the timeout
    status: str | None = None  # JSON v0.0.45+: Slurm's text for the ping's return code

    def to_dict(self) -> dict[str, Any]:
        return {"hostname": self.hostname, "mode": self.mode, "responding": self.responding}


@dataclass(frozen=True)
class PingReport:
    """Every configured instance of one daemon, in Slurm's order."""

    pings: tuple[Ping, ...]
    daemon: str = "slurmctld"  # or "slurmdbd" (sacctmgr ping)
    form: str = "text"  # "text" or "json"
    restore_banner: bool = False  # text: the root-only RESTORE banner was printed
    data_parser: str | None = None  # JSON: e.g. "data_parser/v0.0.41", where Slurm said
    slurm_release: str | None = None  # JSON: e.g. "24.05.4", where Slurm said

    @property
    def any_responding(self) -> bool:
        return any(p.responding for p in self.pings)

    @property
    def all_responding(self) -> bool:
        return all(p.responding for p in self.pings)

    def to_dict(self) -> dict[str, Any]:
        return {"pings": [p.to_dict() for p in self.pings]}


@guarded(WHAT)
def parse(text: str) -> PingReport:
    """Parse ``scontrol ping`` output, text or ``--json``."""
    text = clean_text(text, WHAT)
    if looks_like_json(text):
        return parse_ping_json(load_json(text, WHAT), "slurmctld", WHAT)
    pings, banner = parse_ping_lines(numbered_lines(text), "slurmctld", WHAT)
    return PingReport(pings, "slurmctld", "text", banner)


def mode_name(daemon: str, index: int, count: int) -> str:
    """Slurm's name for the instance at ``index`` of ``count`` (scontrol.c, sacctmgr.c)."""
    if index == 0:
        return "primary"
    if daemon == "slurmdbd" or count == 2:
        return "backup"
    return f"backup{index}"


def parse_ping_line(line: str, daemon: str = "slurmctld") -> Ping | None:
    """One ``<Daemon>(<mode>) at <host> is UP|DOWN`` line, or None if ``line`` is not one."""
    match = _LINE[daemon].match(line.strip())
    if match is None:
        return None
    return Ping(match["host"], match["mode"], match["state"] == "UP")


def parse_ping_lines(
    lines: Sequence[tuple[int, str]], daemon: str, what: str
) -> tuple[tuple[Ping, ...], bool]:
    """The ping lines (and for slurmctld the RESTORE banner) of ``lines``, checked whole.

    Every non-blank line must belong: modes must follow Slurm's naming for the number of
    lines found (which catches output cut at a line boundary), and the banner may follow only
    when some instance is DOWN. Returns the pings and whether the banner was printed.
    """
    pings: list[Ping] = []
    where: list[tuple[int, str]] = []
    banner_at: int | None = None
    legacy = False
    body = [(no, line) for no, line in lines if line.strip()]
    i = 0
    while i < len(body):
        no, line = body[i]
        ping = parse_ping_line(line, daemon)
        if ping is not None:
            if banner_at is not None:
                raise ParseError(f"{what}: ping line after the RESTORE banner", no, line)
            if legacy:
                raise ParseError(f"{what}: pre-18.08 and current ping lines mixed", no, line)
            pings.append(ping)
            where.append((no, line))
            i += 1
            continue
        if daemon == "slurmctld" and line.strip() == BANNER[0]:
            if not pings:
                raise ParseError(f"{what}: RESTORE banner before any ping line", no, line)
            if banner_at is not None:
                raise ParseError(f"{what}: RESTORE banner printed twice", no, line)
            _check_banner(body[i : i + 3], what)
            banner_at = no
            i += 3
            continue
        old = _LEGACY.match(line.strip()) if daemon == "slurmctld" else None
        if old is not None:
            if pings:
                raise ParseError(f"{what}: pre-18.08 and current ping lines mixed", no, line)
            pings.extend(_legacy_pings(old, no, line, what))
            legacy = True
            i += 1
            continue
        if not pings:
            raise ParseError(f"{what}: not {what} output: expected '{_SAMPLE[daemon]}'", no, line)
        raise ParseError(f"{what}: unexpected line after the ping lines", no, line)
    if not pings:
        raise ParseError(f"{what}: no ping lines in input")
    if not legacy:
        _check_modes(pings, where, daemon, what)
    if banner_at is not None and all(p.responding for p in pings):
        raise ParseError(
            f"{what}: RESTORE banner although every instance is UP",
            banner_at,
            BANNER[0],
        )
    return tuple(pings), banner_at is not None


def parse_ping_json(doc: dict[str, Any], daemon: str, what: str) -> PingReport:
    """The ``pings`` array of a ``--json`` document (any data_parser version)."""
    entries = json_list(doc, "pings", what)
    if not entries:
        raise ParseError(f'{what}: JSON "pings" list is empty')
    pings = tuple(
        _json_ping(entry, i, len(entries), daemon, what) for i, entry in enumerate(entries)
    )
    parser, release = json_meta(doc)
    return PingReport(pings, daemon, "json", False, parser, release)


def _check_banner(lines: Sequence[tuple[int, str]], what: str) -> None:
    for offset, expected in enumerate(BANNER):
        if offset >= len(lines):
            no, line = lines[-1]
            raise ParseError(f"{what}: RESTORE banner cut short", no, line)
        no, line = lines[offset]
        if line.strip() != expected:
            raise ParseError(f"{what}: malformed RESTORE banner line", no, line)


def _check_modes(
    pings: Sequence[Ping], where: Sequence[tuple[int, str]], daemon: str, what: str
) -> None:
    for index, (ping, (no, line)) in enumerate(zip(pings, where, strict=True)):
        expected = mode_name(daemon, index, len(pings))
        if ping.mode != expected:
            raise ParseError(
                f"{what}: mode {ping.mode!r} in position {index + 1} of {len(pings)}; "
                f"Slurm names it {expected!r} (mixed or truncated output?)",
                no,
                line,
            )


def _legacy_pings(match: re.Match[str], no: int, line: str, what: str) -> list[Ping]:
    pings = []
    for mode, host, state in (
        ("primary", match["primary"], match["pstate"]),
        ("backup", match["backup"], match["bstate"]),
    ):
        if host is not None and host != "(NULL)":
            pings.append(Ping(host, mode, state == "UP"))
    if not pings:
        raise ParseError(f"{what}: no controller named in the ping line", no, line)
    return pings


def _json_ping(entry: Any, index: int, count: int, daemon: str, what: str) -> Ping:
    where = f"{what}: pings[{index}]"
    if not isinstance(entry, dict):
        raise ParseError(f"{where}: expected an object, got {type(entry).__name__}")
    hostname = entry.get("hostname")
    if not isinstance(hostname, str) or not hostname:
        raise ParseError(f"{where}: no hostname")
    responding = _json_responding(entry, where)
    expected = mode_name(daemon, index, count)
    mode = entry.get("mode", expected)
    if mode != expected:
        raise ParseError(f"{where}: mode {mode!r} but Slurm names position {index} {expected!r}")
    if "primary" in entry and entry["primary"] is not (index == 0):
        raise ParseError(f"{where}: primary={entry['primary']!r} at position {index}")
    latency = json_number(entry["latency"], "latency", where) if "latency" in entry else None
    status = entry.get("status")
    if "ping" in entry and isinstance(status, int) and not isinstance(status, bool):
        status = None  # v0.0.36-38: the return code; UP/DOWN says it all
    if status is not None and not isinstance(status, str):
        raise ParseError(f"{where}: status is {type(status).__name__}, expected a string")
    return Ping(hostname, expected, responding, None if latency is None else int(latency), status)


def _json_responding(entry: dict[str, Any], where: str) -> bool:
    responding = entry.get("responding")
    if responding is not None and not isinstance(responding, bool):
        raise ParseError(f"{where}: responding is {responding!r}, expected true or false")
    pinged = entry.get("pinged", entry.get("ping"))  # "ping" in v0.0.36-38
    if pinged is not None and pinged not in ("UP", "DOWN"):
        raise ParseError(f"{where}: pinged is {pinged!r}, expected UP or DOWN")
    if responding is None and pinged is None:
        raise ParseError(f'{where}: neither "responding" nor "pinged"')
    if responding is not None and pinged is not None and responding != (pinged == "UP"):
        raise ParseError(f"{where}: responding={responding} contradicts pinged={pinged}")
    return responding if responding is not None else pinged == "UP"
