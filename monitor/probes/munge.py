"""The local munge check, run when Slurm commands fail to authenticate.

``munge -n | unmunge`` without a shell: encode an empty credential, decode it, both on the
socket Slurm itself uses (a site may run munged on a non-default socket; checking the
default one would call a healthy host broken).
"""

from __future__ import annotations

from monitor.probes.base import Clock, ProbeResult, ProbeSpec, ProbeTarget, Trigger
from monitor.reasons import Reason
from monitor.runner import CommandResult


def probe_munge(target: ProbeTarget, timeout: float, clock: Clock) -> ProbeResult:
    started = clock()
    socket_args = ["--socket", str(target.munge_socket)] if target.munge_socket else []
    munge_bin = target.cluster.munge_bin
    encoded = target.run([str(munge_bin / "munge"), "-n", *socket_args], timeout=timeout)
    if not encoded.ok:
        return ProbeResult(
            "munge",
            started,
            encoded.duration_seconds,
            False,
            encoded.reason if encoded.reason is Reason.MISSING_BINARY else Reason.AUTH,
            f"munge cannot encode: {_why(encoded)}",
            encoded,
        )
    decoded = target.run(
        [str(munge_bin / "unmunge"), *socket_args], timeout=timeout, stdin=encoded.stdout.encode()
    )
    duration = encoded.duration_seconds + decoded.duration_seconds
    if not decoded.ok:
        return ProbeResult(
            "munge",
            started,
            duration,
            False,
            Reason.AUTH,
            f"unmunge cannot decode: {_why(decoded)}",
            decoded,
        )
    return ProbeResult("munge", started, duration, True, None, "", decoded)


def _why(result: CommandResult) -> str:
    """What the command said, or the runner's own account when it said nothing (a missing
    binary prints no stderr: the message names the path)."""
    return result.stderr_excerpt(200) or result.message or f"exit {result.returncode}"


MUNGE = ProbeSpec("munge", "slurmctld", probe_munge, trigger=Trigger.AUTH_FAILED)
