"""What every probe shares: its target, its result, and the one signature.

A probe is ``probe(target, timeout, clock) -> ProbeResult`` and never raises: whatever goes
wrong is a :class:`~monitor.runner.FailureReason` in the result, so "the monitor could not
see" always arrives as such and is never mistaken for "the daemon is down".
"""

from __future__ import annotations

__all__ = ["Clock", "utc_now", "ProbeResult", "ProbeTarget", "Runner", "Probe"]

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from monitor.clock import Clock, utc_now
from monitor.config import ClusterConfig
from monitor.errors import ParseError
from monitor.runner import CommandResult, FailureReason, run_command


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
    munge_socket: Path | None = None

    def binary(self, name: str) -> str:
        return str(self.cluster.slurm_bin / name)


@dataclass(frozen=True)
class ProbeResult:
    probe: str
    started_at: dt.datetime
    duration_seconds: float
    data: Any = None  # the parsed document, when there is one
    reason: FailureReason | None = None
    message: str = ""
    command: CommandResult | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None


Probe = Callable[[ProbeTarget, float, Clock], ProbeResult]


def command_probe(
    name: str,
    target: ProbeTarget,
    argv: list[str],
    timeout: float,
    clock: Clock,
    parse: Callable[[str], Any],
) -> ProbeResult:
    """Run one Slurm command and parse its stdout: the common shape of most probes."""
    started = clock()
    result = target.run(argv, timeout=timeout, env=target.cluster.command_env())
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
    reason: FailureReason | None = None,
    message: str = "",
) -> ProbeResult:
    """Parse a command's stdout into a result; a ParseError becomes reason ``parse``."""
    if result.truncated:
        return ProbeResult(
            name,
            started,
            result.duration_seconds,
            None,
            FailureReason.PARSE,
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
            FailureReason.PARSE,
            f"{name}: {exc}",
            result,
        )
    return ProbeResult(name, started, result.duration_seconds, data, reason, message, result)
