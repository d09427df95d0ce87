"""Cleanup a command cannot escape: its whole process tree dies on timeout and is reaped.

``killpg`` misses a descendant that called ``setsid`` (it left the group), and a
double-forked one leaves the tree altogether, re-parented to init. Two things close both
doors without root:

* this process becomes a child subreaper (``prctl(PR_SET_CHILD_SUBREAPER)``), so orphans
  of our commands re-parent to us instead of init: they stay findable, and reaping them is
  ours to do;
* every command carries a marker in its environment, which everything it starts inherits,
  so an orphan that re-parented to us is known as ours, and as whose.

On timeout the tree is frozen (SIGSTOP) until a fresh look finds nothing new, so nothing
can fork its way out between the look and the kill, then everything gets SIGKILL and is
reaped. A cgroup's ``cgroup.kill`` would be tighter, but needs a delegated cgroup, which
neither unit tests nor most installs have. Off Linux, or where ``prctl`` is refused, this
degrades to the frozen tree and the process group (orphans then go to init, which reaps).
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import os
import signal
import threading
import time
from collections.abc import Callable

import psutil

MARKER = "SLURM_SLA_MONITOR_RUN"
_PR_SET_CHILD_SUBREAPER = 36
_FREEZE_ROUNDS = 20  # each round stops what the previous look found; a tree is not deeper
_REAP_SECONDS = 2.0

_lock = threading.Lock()
_subreaper: bool | None = None
_counter = itertools.count(1)
_active: set[str] = set()


def enable_subreaper() -> bool:
    """Make this process the reaper of its commands' orphans (once); False if refused."""
    global _subreaper
    with _lock:
        if _subreaper is None:
            _subreaper = _prctl_subreaper()
        return _subreaper


def _prctl_subreaper() -> bool:
    if not os.path.exists("/proc/self"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def begin() -> str:
    """A new marker for one command, registered as running."""
    marker = f"{os.getpid()}.{next(_counter)}"
    with _lock:
        _active.add(marker)
    return marker


def end(marker: str) -> None:
    with _lock:
        _active.discard(marker)


def freeze_and_kill(root: int, marker: str) -> dict[int, psutil.Process]:
    """Stop and SIGKILL ``root``'s tree and the orphans carrying ``marker``.

    Returns what was killed besides ``root`` (whose reaping belongs to its Popen), for
    :func:`reap`.
    """
    victims = _freeze(root, lambda m: m == marker)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(root, signal.SIGKILL)
    for proc in victims.values():
        with contextlib.suppress(psutil.Error):
            proc.kill()
    victims.pop(root, None)
    return victims


def sweep() -> int:
    """Kill and reap what finished commands left running; the number found.

    Orphans land on the main thread's child list, which costs one small read to check, so
    this runs after every command.
    """
    if not _subreaper:
        return 0
    try:
        with open(f"/proc/self/task/{os.getpid()}/children") as f:
            pids = [int(p) for p in f.read().split()]
    except (OSError, ValueError):
        return 0
    if not pids:
        return 0
    prefix = f"{os.getpid()}."
    with _lock:
        active = set(_active)

    def finished(m: str) -> bool:
        return m.startswith(prefix) and m not in active

    victims: dict[int, psutil.Process] = {}
    for pid in pids:
        proc = _process(pid)
        if proc is not None and finished(_marker_of(proc)):
            victims.update(_freeze_one(proc, victims))
    for proc in victims.values():
        with contextlib.suppress(psutil.Error):
            proc.kill()
    reap(victims)
    return len(victims)


def reap(victims: dict[int, psutil.Process], timeout: float = _REAP_SECONDS) -> None:
    """Wait for killed processes to go, reaping those that re-parented to us.

    Only these pids are waited for, never ``-1``: another thread's command must keep its
    own exit status.
    """
    pending = dict(victims)
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for pid, proc in list(pending.items()):
            if not proc.is_running():  # gone (another reaper took it), or the pid reused
                del pending[pid]
                continue
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                continue  # its dying parent has not handed it over yet, or init has it
            if done:
                del pending[pid]
        if pending:
            time.sleep(0.01)


def _freeze(root: int, wanted: Callable[[str], bool]) -> dict[int, psutil.Process]:
    victims: dict[int, psutil.Process] = {}
    top = _process(root)
    if top is None:
        return victims
    victims.update(_freeze_one(top, victims))
    for _ in range(_FREEZE_ROUNDS):
        found = [*_children(top), *_marked_orphans(root, wanted)]
        new = [p for p in found if p.pid not in victims]
        if not new:
            break
        for proc in new:
            victims.update(_freeze_one(proc, victims))
    return victims


def _freeze_one(proc: psutil.Process, seen: dict[int, psutil.Process]) -> dict[int, psutil.Process]:
    """Stop ``proc`` and what it has started; stopped processes cannot fork."""
    out = {proc.pid: proc}
    with contextlib.suppress(psutil.Error):
        proc.suspend()
    for child in _children(proc):
        if child.pid not in seen and child.pid not in out:
            with contextlib.suppress(psutil.Error):
                child.suspend()
            out[child.pid] = child
    return out


def _marked_orphans(root: int, wanted: Callable[[str], bool]) -> list[psutil.Process]:
    out: list[psutil.Process] = []
    with contextlib.suppress(psutil.Error):
        for child in psutil.Process().children():
            if child.pid != root and wanted(_marker_of(child)):
                out.append(child)
                out.extend(_children(child))
    return out


def _children(proc: psutil.Process) -> list[psutil.Process]:
    try:
        return proc.children(recursive=True)
    except psutil.Error:
        return []


def _marker_of(proc: psutil.Process) -> str:
    try:
        return proc.environ().get(MARKER, "")
    except psutil.Error:
        return ""  # a zombie, or gone: nothing left to kill


def _process(pid: int) -> psutil.Process | None:
    try:
        return psutil.Process(pid)
    except psutil.Error:
        return None
