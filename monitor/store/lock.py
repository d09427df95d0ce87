"""One daemon per state directory: an exclusive ``flock`` on ``STATE_DIR/lock``.

Two daemons on one store would both page every alert and interleave their transitions.
The lock is held for the life of the process and released by the kernel however the
process ends (SIGKILL included), so a stale lock file never blocks a restart. The holder
writes its PID into the file so the refusal can say who holds it. Readers (``report``,
``maintenance``) do not take it: they only need SQLite's own locking.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from monitor.errors import StoreError

LOCK_NAME = "lock"


class StateDirLocked(StoreError):
    """Another process holds the state directory's lock (the CLI's "could not run")."""


class StateDirLock:
    """The held lock; ``release`` (or the process's end) gives it up."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, state_dir: Path) -> StateDirLock:
        """Take the lock or raise: ``StateDirLocked`` naming the holder's PID, or
        ``OSError`` when the directory cannot be created or the file opened."""
        state_dir.mkdir(parents=True, exist_ok=True)
        path = state_dir / LOCK_NAME
        fd = _open(path, state_dir)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            who = f"process {holder}" if holder else "another process"
            raise StateDirLocked(
                f"{state_dir}: another monitor ({who}) is already running on this "
                "state directory; only one daemon may use it"
            ) from None
        except OSError:
            os.close(fd)
            raise
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError:
            pass  # read-only or full: the lock itself holds; only the PID is missing
        return cls(path, fd)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


def _open(path: Path, state_dir: Path) -> int:
    """The lock file, or, where it cannot be created (a read-only or full disk, which must
    not stop the daemon), the directory itself: every daemon meeting the same directory
    meets the same case, so they still exclude each other."""
    # O_CLOEXEC: a child process (a Slurm command) must not inherit and keep the lock.
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError:
        pass
    try:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return os.open(state_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode(errors="replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
