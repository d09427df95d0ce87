"""Process helpers for the lab: identify processes by (pid, start time), find the child
an nsenter/unshare forked, run short commands, and Popen across a PID namespace."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

C_ENV = {"LC_ALL": "C"}


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # comm may contain spaces and parentheses: split after the last ')'.
    return text[text.rindex(")") + 2 :].split()


def start_time(pid: int) -> int | None:
    """Start time in clock ticks since boot: with the pid, identifies a process."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else None


@dataclass(frozen=True)
class ProcRef:
    """A process we started, safe against PID reuse."""

    pid: int
    start: int

    @classmethod
    def of(cls, pid: int) -> ProcRef | None:
        st = start_time(pid)
        return cls(pid, st) if st is not None else None

    def state(self) -> str | None:
        """/proc state letter (R, S, T for stopped, Z...), None when gone or reused."""
        fields = _stat_fields(self.pid)
        if not fields or int(fields[19]) != self.start:
            return None
        return fields[0]

    def alive(self) -> bool:
        return self.state() not in (None, "Z", "X")

    def signal(self, sig: int) -> bool:
        if not self.alive() and sig != signal.SIGCONT:
            return False
        try:
            os.kill(self.pid, sig)
        except ProcessLookupError:
            return False
        return True

    def wait_gone(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.alive():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True


def children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            out += [int(p) for p in (task / "children").read_text().split()]
    except (FileNotFoundError, ProcessLookupError):
        pass
    return out


def exe(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None


def wait_exec_child(parent: subprocess.Popen, program: str, timeout: float = 10.0) -> ProcRef:
    """The child that `parent` (nsenter/unshare, which fork into a new PID namespace)
    started, once it has exec'd `program` (a path). Raises RuntimeError if the parent
    exits first."""
    want = os.path.realpath(program)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for child in children(parent.pid):
            if exe(child) == want and (ref := ProcRef.of(child)):
                return ref
        if parent.poll() is not None:
            raise RuntimeError(f"{program} exited at once (status {parent.returncode})")
        time.sleep(0.01)
    raise TimeoutError(f"{program} did not start within {timeout}s")


def net_ns(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/net")
    except OSError:
        return None


def pids_in_net_ns(ns_ids: set[str]) -> list[int]:
    """Every process whose network namespace is one of `ns_ids` ('net:[inode]')."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and net_ns(int(entry.name)) in ns_ids:
            found.append(int(entry.name))
    return found


def run(
    argv: list[str], timeout: float, check: bool = True, **kwargs
) -> subprocess.CompletedProcess[str]:
    """Run a short helper command (ip, mount, ...), text output, LC_ALL=C."""
    env = {**os.environ, **C_ENV, **kwargs.pop("env", {})}
    proc = subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, env=env, check=False, **kwargs
    )
    if check and proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} failed with {proc.returncode}: {proc.stderr.strip()[:500]}"
        )
    return proc


class NsPopen(subprocess.Popen):
    """Popen of `nsenter --pid ...`: nsenter forks the program into the PID namespace and
    waits for it, but forwards no signal. Signals sent through this object go to the
    program itself, so terminate()/kill() stop the program and nsenter follows it with
    the program's exit status."""

    def inner_pid(self) -> int | None:
        kids = children(self.pid)
        return kids[0] if kids else None

    def send_signal(self, sig: int) -> None:
        if self.poll() is not None:
            return
        inner = self.inner_pid()
        with contextlib.suppress(ProcessLookupError):
            os.kill(inner if inner is not None else self.pid, sig)
