"""Probes of slurmctld: ``scontrol ping``, ``scontrol show config`` and ``sdiag``."""

from __future__ import annotations

from monitor.parsers import parser_for
from monitor.probes.base import (
    Clock,
    ProbeResult,
    ProbeSpec,
    ProbeTarget,
    command_probe,
    parsed_result,
)
from monitor.reasons import Reason
from monitor.runner import classify, stderr_signature


def probe_ping(target: ProbeTarget, timeout: float, clock: Clock) -> ProbeResult:
    """``scontrol ping``: judged per line, never by exit code alone.

    It exits 1 only when no controller answers, yet still lists each one; and when munge is
    broken on our side it reports every controller DOWN, which only stderr betrays. So a
    listing is kept even on failure, and an auth signature turns the whole result blind.
    """
    started = clock()
    result = target.run(target.argv(PING), timeout=timeout, env=target.cluster.command_env())
    if result.reason in (Reason.TIMEOUT, Reason.MISSING_BINARY):
        return ProbeResult(
            "ping", started, result.duration_seconds, None, result.reason, result.message, result
        )
    signature = stderr_signature(result.stderr)
    if signature is Reason.AUTH:
        return parsed_result(
            "ping",
            started,
            result,
            parser_for("ping"),
            Reason.AUTH,
            result.message or "scontrol ping: " + result.stderr_excerpt(200),
        )
    if not result.stdout.strip():
        reason = classify(result.returncode, result.stderr) or Reason.PARSE
        return ProbeResult(
            "ping",
            started,
            result.duration_seconds,
            None,
            reason,
            result.message or "scontrol ping printed nothing",
            result,
        )
    return parsed_result("ping", started, result, parser_for("ping"))


def probe_show_config(target: ProbeTarget, timeout: float, clock: Clock) -> ProbeResult:
    """``scontrol show config``: answered by the serving controller; carries BOOT_TIME."""
    return command_probe(SHOW_CONFIG, target, timeout, clock)


def probe_sdiag(target: ProbeTarget, timeout: float, clock: Clock) -> ProbeResult:
    """``sdiag``: scheduler load; fails with ``standby`` when only a standby backup answers."""
    return command_probe(SDIAG, target, timeout, clock)


# Ping asks each controller in turn and waits MessageTimeout (10 s) for a frozen one: the
# long timeout, yet its lane waits for it (it decides slurmctld).
PING = ProbeSpec(
    "ping",
    "slurmctld",
    probe_ping,
    kind="ping",
    argv=("scontrol", "ping"),
    json_argv=("scontrol", "ping", "--json"),
    long_timeout=True,
)
SHOW_CONFIG = ProbeSpec(
    "show_config",
    "slurmctld",
    probe_show_config,
    kind="show-config",
    argv=("scontrol", "show", "config"),
    json_argv=("scontrol", "show", "config", "--json"),
    background=True,
    long_timeout=True,
)
SDIAG = ProbeSpec(
    "sdiag",
    "slurmctld",
    probe_sdiag,
    kind="sdiag",
    argv=("sdiag",),
    json_argv=("sdiag", "--json"),
    background=True,
    long_timeout=True,
)
