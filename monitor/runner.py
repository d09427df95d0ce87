"""The only module that starts processes.

Every command runs from an argv list (never a shell), in its own process group, with a
timeout the caller must give, ``LC_ALL=C`` so Slurm's messages are the ones we match, and
bounded capture so a runaway command cannot exhaust memory. The result says why a command
failed in the words of the probe contract (``timeout``, ``auth``, ...), never by raising.
"""

from __future__ import annotations

import contextlib
import os
import re
import selectors
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

DEFAULT_MAX_OUTPUT_BYTES = 4 * 1024 * 1024
STDERR_LOG_LIMIT = 500


class FailureReason(StrEnum):
    """Why a command (and so a probe) did not give a usable answer."""

    TIMEOUT = "timeout"
    MISSING_BINARY = "missing_binary"
    AUTH = "auth"
    UNREACHABLE = "unreachable"
    STANDBY = "standby"
    DATABASE = "database"
    PARSE = "parse"
    COMMAND_FAILED = "command_failed"


# Checked in this order: a munge failure also prints "Unable to contact ..." on some paths,
# and it must win, because it means the monitor is blind rather than the daemon down.
_STDERR_SIGNATURES: tuple[tuple[FailureReason, re.Pattern[str]], ...] = (
    (
        FailureReason.AUTH,
        re.compile(
            r"munge|authentication (?:error|failure)|invalid authentication credential"
            r"|auth(?:entication)? plugin",
            re.IGNORECASE,
        ),
    ),
    (FailureReason.STANDBY, re.compile(r"backup controller in standby mode", re.IGNORECASE)),
    (
        FailureReason.DATABASE,
        re.compile(r"unable to connect to database|database (?:is )?(?:down|unavailable)", re.I),
    ),
    (
        FailureReason.TIMEOUT,
        re.compile(r"socket timed out on send/recv|operation timed out", re.IGNORECASE),
    ),
    (
        FailureReason.UNREACHABLE,
        re.compile(
            r"connect(?:ion)? failure|connection refused|unable to contact slurm controller"
            r"|no route to host|network is unreachable|unable to establish a connection"
            r"|error connecting to slurmdbd|slurmdbd.*(?:not responding|unavailable)",
            re.IGNORECASE,
        ),
    ),
)


def classify(returncode: int | None, stderr: str) -> FailureReason | None:
    """The failure reason of a finished command, or None when it succeeded.

    A zero exit is success whatever stderr says: Slurm prints warnings there.
    """
    if returncode == 0:
        return None
    for reason, pattern in _STDERR_SIGNATURES:
        if pattern.search(stderr):
            return reason
    return FailureReason.COMMAND_FAILED


def stderr_signature(stderr: str) -> FailureReason | None:
    """The failure named by stderr alone, for commands whose exit code says too little
    (``scontrol ping`` exits 0 while one controller is down and 1 when none answers)."""
    for reason, pattern in _STDERR_SIGNATURES:
        if pattern.search(stderr):
            return reason
    return None


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    returncode: int | None  # None when the command never ran or was killed on timeout
    stdout: str
    stderr: str
    duration_seconds: float
    reason: FailureReason | None
    message: str = ""  # what went wrong, for logs and `errors[]`; empty on success
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return self.reason is None

    def stderr_excerpt(self, limit: int = STDERR_LOG_LIMIT) -> str:
        text = self.stderr.strip()
        return text if len(text) <= limit else text[:limit] + "...[truncated]"


def run_command(
    argv: Sequence[str],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
    max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES,
    monotonic: Callable[[], float] = time.monotonic,
) -> CommandResult:
    """Run ``argv`` and wait at most ``timeout`` seconds for it.

    ``env`` is added to a copy of this process's environment (``SLURM_CONF`` and such);
    ``LC_ALL=C`` always wins. ``stdin`` is fed to the command (``unmunge`` reads a credential);
    without it the command reads from /dev/null.
    """
    if timeout <= 0:
        raise ValueError("timeout must be positive")
    args = tuple(str(a) for a in argv)
    child_env = dict(os.environ)
    if env:
        child_env.update(env)
    child_env["LC_ALL"] = "C"
    started = monotonic()
    try:
        proc = subprocess.Popen(  # noqa: S603 - argv list, no shell
            args,
            stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=child_env,
            start_new_session=True,  # its own process group, so a timeout kills its children
            close_fds=True,
        )
    except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
        return CommandResult(
            args,
            None,
            "",
            "",
            monotonic() - started,
            FailureReason.MISSING_BINARY,
            f"{args[0]}: {exc.strerror or exc}",
        )
    if stdin is not None:
        _feed(proc, stdin)
    stdout, stderr, timed_out, truncated = _collect(
        proc, started + timeout, max_output_bytes, monotonic
    )
    duration = monotonic() - started
    out = stdout.decode("utf-8", errors="replace")
    err = stderr.decode("utf-8", errors="replace")
    if timed_out:
        return CommandResult(
            args,
            None,
            out,
            err,
            duration,
            FailureReason.TIMEOUT,
            f"{_name(args)} did not finish within {timeout:g} s",
            truncated,
        )
    reason = classify(proc.returncode, err)
    message = ""
    if reason is not None:
        first = err.strip().splitlines()[0] if err.strip() else "no message on stderr"
        message = f"{_name(args)} exited {proc.returncode}: {first[:STDERR_LOG_LIMIT]}"
    return CommandResult(args, proc.returncode, out, err, duration, reason, message, truncated)


def _name(args: tuple[str, ...]) -> str:
    return " ".join([os.path.basename(args[0]), *args[1:3]])


def _collect(
    proc: subprocess.Popen[bytes],
    deadline: float,
    limit: int,
    monotonic: Callable[[], float],
) -> tuple[bytes, bytes, bool, bool]:
    """Read both pipes until EOF or the deadline; keep at most ``limit`` bytes of each."""
    assert proc.stdout is not None and proc.stderr is not None
    buffers = {proc.stdout: bytearray(), proc.stderr: bytearray()}
    truncated = False
    timed_out = False
    with selectors.DefaultSelector() as sel:
        for pipe in buffers:
            os.set_blocking(pipe.fileno(), False)
            sel.register(pipe, selectors.EVENT_READ)
        while sel.get_map():
            remaining = deadline - monotonic()
            if remaining <= 0:
                timed_out = True
                break
            for key, _ in sel.select(remaining):
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    sel.unregister(key.fileobj)
                    continue
                buf = buffers[key.fileobj]  # type: ignore[index]
                room = limit - len(buf)
                if room > 0:
                    buf += chunk[:room]
                if len(chunk) > max(room, 0):
                    truncated = True  # keep draining so the child never blocks on a full pipe
    if not timed_out:
        try:
            proc.wait(timeout=max(0.05, deadline - monotonic()))
        except subprocess.TimeoutExpired:
            timed_out = True  # closed its pipes but did not exit
    if timed_out:
        _kill_group(proc)
    for pipe in buffers:
        pipe.close()
    return bytes(buffers[proc.stdout]), bytes(buffers[proc.stderr]), timed_out, truncated


def _feed(proc: subprocess.Popen[bytes], data: bytes) -> None:
    # Small inputs only (a munge credential): they fit the pipe buffer, so this cannot block.
    assert proc.stdin is not None
    with contextlib.suppress(BrokenPipeError):
        proc.stdin.write(data)
        proc.stdin.close()


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
