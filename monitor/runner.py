"""The only module that starts processes.

Every command runs from an argv list (never a shell), in its own process group, with a
timeout the caller must give, ``LC_ALL=C`` so Slurm's messages are the ones we match, and
bounded capture so a runaway command cannot exhaust memory. The result says why a command
failed in the words of the probe contract (``timeout``, ``auth``, ...), never by raising.
On timeout the command's whole process tree dies, even what left its group or session
(:mod:`monitor.process_tree`), and a stderr line naming a cause Slurm would only retry on
stops the command early with that cause.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import selectors
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from monitor import process_tree
from monitor.reasons import Reason

DEFAULT_MAX_OUTPUT_BYTES = 4 * 1024 * 1024
STDERR_LOG_LIMIT = 500


# Checked in this order: a munge failure also prints "Unable to contact ..." on some paths,
# and it must win, because it means the monitor is blind rather than the daemon down.
_STDERR_SIGNATURES: tuple[tuple[Reason, re.Pattern[str]], ...] = (
    (
        Reason.AUTH,
        re.compile(
            r"munge|authentication (?:error|failure)|invalid authentication credential"
            r"|auth(?:entication)? plugin",
            re.IGNORECASE,
        ),
    ),
    (Reason.STANDBY, re.compile(r"backup controller in standby mode", re.IGNORECASE)),
    (
        Reason.DATABASE,
        re.compile(r"unable to connect to database|database (?:is )?(?:down|unavailable)", re.I),
    ),
    (
        Reason.TIMEOUT,
        re.compile(r"socket timed out on send/recv|operation timed out", re.IGNORECASE),
    ),
    (
        Reason.UNREACHABLE,
        re.compile(
            r"connect(?:ion)? failure|connection refused|unable to contact slurm controller"
            r"|no route to host|network is unreachable|unable to establish a connection"
            r"|error connecting to slurmdbd|slurmdbd.*(?:not responding|unavailable)",
            re.IGNORECASE,
        ),
    ),
)


def classify(returncode: int | None, stderr: str) -> Reason | None:
    """The failure reason of a finished command, or None when it succeeded.

    A zero exit is success whatever stderr says: Slurm prints warnings there.
    """
    if returncode == 0:
        return None
    for reason, pattern in _STDERR_SIGNATURES:
        if pattern.search(stderr):
            return reason
    return Reason.COMMAND_FAILED


def stderr_signature(stderr: str) -> Reason | None:
    """The failure named by stderr alone, for commands whose exit code says too little
    (``scontrol ping`` exits 0 while one controller is down and 1 when none answers)."""
    for reason, pattern in _STDERR_SIGNATURES:
        if pattern.search(stderr):
            return reason
    return None


# Causes Slurm's clients retry on for a long time (``cannot stat file`` for 60 s, a
# host that does not resolve for 10 s per name) or die of, while the cause is already
# plain on stderr: the command is stopped at the first such line and the cause is the
# message. All of them are the monitor host's problem, so the reason is command_failed
# (the monitor cannot see), never a verdict about a daemon. Texts of Slurm 22.05.
_FATAL_STDERR: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"cannot stat file (?P<detail>.*?)(?:, retrying.*)?$", re.M),
        "a Slurm configuration file does not exist",
    ),
    (
        re.compile(r'unable to read (?P<detail>"[^"]*": Permission denied)', re.M),
        "the Slurm configuration file is not readable by the monitor's user",
    ),
    (
        re.compile(r"(?P<detail>Could not establish a configuration source)", re.M),
        "no Slurm configuration (no slurm.conf, and no configless DNS SRV record)",
    ),
    (
        re.compile(r'(?P<detail>Unable to resolve "[^"]*")', re.M),
        "a host name in the Slurm configuration does not resolve on the monitor's host",
    ),
    (
        re.compile(
            r"getaddrinfo\(\) failed: (?P<detail>Name or service not known"
            r"|Temporary failure in name resolution)",
            re.M,
        ),
        "a host name in the Slurm configuration does not resolve on the monitor's host",
    ),
)


def fatal_stderr(text: str) -> str | None:
    """The cause named by a fatal Slurm client error in ``text`` (complete lines), if any."""
    for pattern, hint in _FATAL_STDERR:
        match = pattern.search(text)
        if match:
            return f"{hint} ({match.group('detail').strip()[:STDERR_LOG_LIMIT]})"
    return None


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    returncode: int | None  # None when the command never ran or was killed on timeout
    stdout: str
    stderr: str
    duration_seconds: float
    reason: Reason | None
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
    without it the command reads from /dev/null. A stderr line that names a cause Slurm
    would only retry on (no slurm.conf, a host that does not resolve) stops the command
    at once, with that cause as the message, instead of waiting for the timeout.
    """
    if timeout <= 0:
        raise ValueError("timeout must be positive")
    args = tuple(str(a) for a in argv)
    process_tree.enable_subreaper()
    marker = process_tree.begin()
    child_env = dict(os.environ)
    if env:
        child_env.update(env)
    child_env["LC_ALL"] = "C"
    child_env[process_tree.MARKER] = marker
    started = monotonic()
    try:
        return _run(args, child_env, marker, started, timeout, stdin, max_output_bytes, monotonic)
    except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
        return CommandResult(
            args,
            None,
            "",
            "",
            monotonic() - started,
            Reason.MISSING_BINARY,
            f"{args[0]}: {exc.strerror or exc}",
        )
    finally:
        process_tree.end(marker)
        process_tree.sweep()


def _run(
    args: tuple[str, ...],
    env: dict[str, str],
    marker: str,
    started: float,
    timeout: float,
    stdin: bytes | None,
    max_output_bytes: int,
    monotonic: Callable[[], float],
) -> CommandResult:
    proc = subprocess.Popen(  # noqa: S603 - argv list, no shell
        args,
        stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,  # its own group for killpg; process_tree finds what leaves it
        close_fds=True,
    )
    if stdin is not None:
        _feed(proc, stdin)
    got = _collect(proc, started + timeout, max_output_bytes, monotonic)
    if got.timed_out or got.fatal is not None:
        victims = process_tree.freeze_and_kill(proc.pid, marker)
        proc.wait()
        process_tree.reap(victims)
    duration = monotonic() - started
    out = got.stdout.decode("utf-8", errors="replace")
    err = got.stderr.decode("utf-8", errors="replace")
    if got.fatal is not None:
        return CommandResult(
            args,
            None,
            out,
            err,
            duration,
            Reason.COMMAND_FAILED,
            f"{_name(args)}: {got.fatal}",
            got.truncated,
        )
    if got.timed_out:
        return CommandResult(
            args,
            None,
            out,
            err,
            duration,
            Reason.TIMEOUT,
            f"{_name(args)} did not finish within {timeout:g} s{_last_words(err)}",
            got.truncated,
        )
    reason = classify(proc.returncode, err)
    message = ""
    if reason is not None:
        first = err.strip().splitlines()[0] if err.strip() else "no message on stderr"
        message = f"{_name(args)} exited {proc.returncode}: {first[:STDERR_LOG_LIMIT]}"
    return CommandResult(args, proc.returncode, out, err, duration, reason, message, got.truncated)


def _name(args: tuple[str, ...]) -> str:
    return " ".join([os.path.basename(args[0]), *args[1:3]])


def _last_words(stderr: str) -> str:
    """What a command that timed out said last, which often says why."""
    lines = stderr.strip().splitlines()
    return f" (last on stderr: {lines[-1].strip()[:STDERR_LOG_LIMIT]})" if lines else ""


@dataclass(frozen=True)
class _Collected:
    stdout: bytes
    stderr: bytes
    timed_out: bool
    truncated: bool
    fatal: str | None  # the cause named by a fatal stderr line, when one stopped the command


def _collect(
    proc: subprocess.Popen[bytes],
    deadline: float,
    limit: int,
    monotonic: Callable[[], float],
) -> _Collected:
    """Read both pipes until EOF, the deadline, or a fatal stderr line; keep at most
    ``limit`` bytes of each."""
    assert proc.stdout is not None and proc.stderr is not None
    buffers = {proc.stdout: bytearray(), proc.stderr: bytearray()}
    truncated = False
    timed_out = False
    fatal: str | None = None
    scanned = 0  # stderr bytes already checked for fatal lines
    with selectors.DefaultSelector() as sel:
        for pipe in buffers:
            os.set_blocking(pipe.fileno(), False)
            sel.register(pipe, selectors.EVENT_READ)
        while sel.get_map() and fatal is None:
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
                if key.fileobj is proc.stderr:
                    end = buf.rfind(b"\n") + 1
                    if end > scanned:
                        fatal = fatal_stderr(buf[scanned:end].decode("utf-8", "replace"))
                        scanned = end
    if not timed_out and fatal is None:
        try:
            proc.wait(timeout=max(0.05, deadline - monotonic()))
        except subprocess.TimeoutExpired:
            timed_out = True  # closed its pipes but did not exit
    for pipe in buffers:
        pipe.close()
    out, err = bytes(buffers[proc.stdout]), bytes(buffers[proc.stderr])
    return _Collected(out, err, timed_out, truncated, fatal)


def _feed(proc: subprocess.Popen[bytes], data: bytes) -> None:
    # Small inputs only (a munge credential): they fit the pipe buffer, so this cannot block.
    assert proc.stdin is not None
    with contextlib.suppress(BrokenPipeError):
        proc.stdin.write(data)
        proc.stdin.close()


# --- services ----------------------------------------------------------------------------
# Processes that run until told to stop (the HA demo's Alertmanagers and monitor replicas)
# start here too, so this stays the one module that starts processes. Their own session,
# so a terminal's Ctrl-C reaches only the parent, which stops them in its own order.


class Child:
    """A service started by :func:`start_child`: stopped with SIGTERM and killed if it does
    not exit within the caller's timeout; always reaped."""

    def __init__(self, proc: subprocess.Popen[bytes], name: str) -> None:
        self._proc = proc
        self.name = name

    @property
    def pid(self) -> int:
        return self._proc.pid

    def running(self) -> bool:
        return self._proc.poll() is None

    def kill(self) -> None:
        """SIGKILL, as a crash or an OOM kill would end it."""
        with contextlib.suppress(ProcessLookupError):
            self._proc.kill()
        self._proc.wait()

    def stop(self, timeout: float) -> int:
        """SIGTERM, then SIGKILL after ``timeout`` seconds; the exit status."""
        if self._proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.terminate()
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self._proc.returncode


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _dies_with_this_thread() -> Callable[[], None]:
    """A ``preexec_fn``: the child gets SIGTERM when the thread that started it ends, so a
    parent killed with SIGKILL (no ``finally`` runs) leaves no service behind. Resolved
    here, in the parent; the child only makes the call. The kernel ties the signal to the
    starting thread, so services are started from the main thread (the demo's are)."""
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def arm() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the request took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return arm


def start_child(
    argv: Sequence[str], *, name: str, log: os.PathLike[str] | str,
    env: Mapping[str, str] | None = None,
) -> Child:
    """Start ``argv`` with stdout and stderr appended to ``log``; raises ``OSError`` when it
    cannot start (the caller says what is missing). It is stopped with SIGTERM if this
    process dies first, however it dies."""
    child_env = dict(os.environ)
    if env:
        child_env.update(env)
    child_env["LC_ALL"] = "C"
    with open(log, "ab") as out:
        proc = subprocess.Popen(  # noqa: S603 - argv list, no shell
            [str(a) for a in argv],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=child_env,
            start_new_session=True,
            close_fds=True,
            preexec_fn=_dies_with_this_thread(),  # only prctl: takes no lock before exec
        )
    return Child(proc, name)
