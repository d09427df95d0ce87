"""What every probe shares: its target, its result, and the one signature.

A probe is ``probe(target, timeout, clock) -> ProbeResult`` and never raises: whatever goes
wrong is a :class:`~monitor.runner.Reason` in the result, so "the monitor could not
see" always arrives as such and is never mistaken for "the daemon is down".
"""

from __future__ import annotations

__all__ = [
    "Clock",
    "utc_now",
    "ProbeResult",
    "ProbeSpec",
    "ProbeTarget",
    "Runner",
    "Probe",
    "Trigger",
    "Version",
]

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from monitor.clock import Clock, utc_now
from monitor.config import ClusterConfig
from monitor.errors import ParseError
from monitor.parsers import parser_for
from monitor.reasons import Reason
from monitor.rest.client import RestClient
from monitor.runner import CommandResult, run_command


class Runner(Protocol):
    def __call__(
        self,
        argv: list[str],
        *,
        timeout: float,
        env: Mapping[str, str] | None = ...,
        stdin: bytes | None = ...,
    ) -> CommandResult: ...


@dataclass(frozen=True)
class ProbeTarget:
    """One cluster as a probe sees it, with what earlier probes taught us about it."""

    cluster: ClusterConfig
    run: Runner = run_command
    # From the last `scontrol show config`: where the slurmdbd instances listen, the munge
    # socket Slurm uses. Empty until a show-config probe has answered.
    dbd_endpoints: tuple[tuple[str, str, int], ...] = ()  # (role, host, port)
    ctl_endpoints: tuple[tuple[str, str, int], ...] = ()  # (role, host, SlurmctldPort)
    munge_socket: Path | None = None
    rest: RestClient | None = None  # backend = "rest": the cluster's slurmrestd

    def binary(self, name: str) -> str:
        return str(self.cluster.slurm_bin / name)

    def argv(self, spec: ProbeSpec) -> list[str]:
        """The declared command, its program found in ``slurm_bin``."""
        return [self.binary(spec.argv[0]), *spec.argv[1:]]


@dataclass(frozen=True)
class ProbeResult:
    probe: str
    started_at: dt.datetime
    duration_seconds: float
    data: Any = None  # the parsed document, when there is one
    reason: Reason | None = None
    message: str = ""
    command: CommandResult | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None


Probe = Callable[[ProbeTarget, float, Clock], ProbeResult]
Version = tuple[int, int]  # a Slurm release series, e.g. (24, 11)


class Trigger(StrEnum):
    """When a probe runs in its lane's round."""

    ROUND = "round"  # every round, concurrently with the others
    AUTH_FAILED = "auth_failed"  # after them, when ping failed to authenticate
    DBD_HOSTS_KNOWN = "dbd_hosts_known"  # after them, once show config named the slurmdbds
    PING_UNANSWERED = "ping_unanswered"  # after them, when ping got no answer (not auth)


@dataclass(frozen=True)
class ProbeSpec:
    """A probe, declared once, beside the function that runs it. The prober, the demo's
    simulator and the fixture recorder all read these declarations."""

    name: str  # in results, logs, metrics (`probe` label) and `errors[]`
    service: str  # the lane whose verdict it feeds: slurmctld or slurmdbd
    run: Probe
    kind: str | None = None  # its parser (`slurm-sla parse KIND`) and fixture folder
    argv: tuple[str, ...] = ()  # a Slurm command: program (found in slurm_bin) and arguments
    json_argv: tuple[str, ...] = ()  # the command's --json form, where Slurm has one
    http_path: str = ""  # an HTTP probe: the path it asks each controller for
    rest: tuple[str, str] = ()  # a slurmrestd probe: (api, endpoint), e.g. ("slurm", "ping")
    backends: frozenset[str] = frozenset({"cli"})  # the cluster backends it belongs to
    background: bool = False  # takes 9-12 s in some failures: rounds do not wait for it
    long_timeout: bool = False  # gets slow_command_timeout_seconds
    since: Version | None = None  # the first release that has it
    until: Version | None = None  # the first release where another probe replaces it
    trigger: Trigger = Trigger.ROUND
    accounting: bool = False  # only for clusters with accounting = true
    # Talks to the cluster's hosts themselves (a port), not through slurmrestd: on a rest
    # cluster only where the monitor reaches them (``readyz = true``), as /readyz.
    reaches_hosts: bool = False

    def applies(self, version: Version | None) -> bool:
        """Whether this probe runs against ``version``. An unknown version counts as the
        oldest: a command that may not exist there is not tried."""
        if self.since is not None and (version is None or version < self.since):
            return False
        return self.until is None or version is None or version < self.until


def address_of(override: str | None, host: str, port: int) -> tuple[str, int]:
    """``host_addresses`` may give an address, or an address and a port, for a host."""
    if not override:
        return host, port
    addr, sep, override_port = override.rpartition(":")
    if sep and override_port.isdigit() and not override.endswith("]"):
        return addr.strip("[]"), int(override_port)
    return override.strip("[]"), port


def command_probe(
    spec: ProbeSpec, target: ProbeTarget, timeout: float, clock: Clock
) -> ProbeResult:
    """Run one declared Slurm command and parse its stdout: the common shape of most
    probes."""
    name, parse = spec.name, parser_for(spec.kind or spec.name)
    started = clock()
    result = target.run(target.argv(spec), timeout=timeout, env=target.cluster.command_env())
    if not result.ok:
        return ProbeResult(
            name, started, result.duration_seconds, None, result.reason, result.message, result
        )
    return parsed_result(name, started, result, parse)


def parsed_result(
    name: str,
    started: dt.datetime,
    result: CommandResult,
    parse: Callable[[str], Any],
    reason: Reason | None = None,
    message: str = "",
) -> ProbeResult:
    """Parse a command's stdout into a result; a ParseError becomes reason ``parse``."""
    if result.truncated:
        return ProbeResult(
            name,
            started,
            result.duration_seconds,
            None,
            Reason.PARSE,
            f"{name}: output exceeded the capture limit",
            result,
        )
    try:
        data = parse(result.stdout)
    except ParseError as exc:
        return ProbeResult(
            name,
            started,
            result.duration_seconds,
            None,
            Reason.PARSE,
            f"{name}: {exc}",
            result,
        )
    return ProbeResult(name, started, result.duration_seconds, data, reason, message, result)
