"""The local process check: a Slurm daemon running on the monitor's own host, via psutil.

It sees what no RPC can: a standby backup slurmdbd (which does not listen), and a daemon
whose process vanished (down at once, without waiting for ping thresholds).
"""

from __future__ import annotations

import os

import psutil

from monitor.observation import LocalProcess

_FIELDS = ["pid", "name", "create_time"]


def check_process(daemon: str) -> LocalProcess:
    """The oldest process named ``daemon`` in this host's UTS namespace (a host may run
    helper children with the same name; the oldest is the daemon itself)."""
    own_uts = _uts(os.getpid())
    found: list[psutil.Process] = []
    for proc in psutil.process_iter(_FIELDS):
        if proc.info["name"] != daemon:
            continue
        if own_uts is not None and _uts(proc.info["pid"]) not in (None, own_uts):
            continue  # same machine, another (test) host: not ours
        found.append(proc)
    if not found:
        return LocalProcess(daemon, running=False)
    proc = min(found, key=lambda p: p.info["create_time"])
    try:
        with proc.oneshot():
            if proc.status() in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD):
                return LocalProcess(daemon, running=False, pid=proc.pid)
            cpu = proc.cpu_times()
            return LocalProcess(
                daemon,
                running=True,
                pid=proc.pid,
                start_time=proc.create_time(),
                rss_bytes=proc.memory_info().rss,
                cpu_seconds=cpu.user + cpu.system,
                threads=proc.num_threads(),
                open_files=_open_files(proc),
            )
    except psutil.NoSuchProcess:
        return LocalProcess(daemon, running=False)
    except psutil.AccessDenied:
        return LocalProcess(daemon, running=True, pid=proc.pid, start_time=proc.info["create_time"])


def _open_files(proc: psutil.Process) -> int | None:
    try:
        return proc.num_fds()
    except (psutil.AccessDenied, AttributeError):
        return None


def _uts(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/uts")
    except OSError:
        return None
