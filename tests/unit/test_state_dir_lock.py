"""One daemon per state directory, between real processes: the second is refused with the
holder's PID, readers still read the store, and a SIGKILL of the holder frees the lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from monitor.statestore import MIGRATIONS
from monitor.store.db import Database
from monitor.store.lock import StateDirLock, StateDirLocked

HOLDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from monitor.store.lock import StateDirLock
    lock = StateDirLock.acquire(Path(sys.argv[1]))
    print("locked", flush=True)
    sys.stdin.read()  # hold until the test closes stdin or kills us
    """
)


def hold(state_dir: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(state_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_a_second_process_is_refused_with_the_holders_pid(tmp_path):
    holder = hold(tmp_path)
    try:
        with pytest.raises(StateDirLocked) as refused:
            StateDirLock.acquire(tmp_path)
        message = str(refused.value)
        assert str(tmp_path) in message and f"process {holder.pid}" in message
        assert "\n" not in message
        # readers (report, maintenance) use the store while the daemon holds the lock
        db = Database.in_dir(tmp_path, migrations=MIGRATIONS)
        assert db.query("SELECT 1")[0][0] == 1
        db.close()
    finally:
        holder.kill()
        holder.wait()


def test_the_kernel_releases_the_lock_when_the_holder_is_killed(tmp_path):
    holder = hold(tmp_path)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    lock = StateDirLock.acquire(tmp_path)  # no stale lock, though the file is still there
    try:
        assert (tmp_path / "lock").read_text().strip() == str(os.getpid())
    finally:
        lock.release()
    StateDirLock.acquire(tmp_path).release()  # released means free again


def test_a_lock_file_that_cannot_be_created_falls_back_to_the_directory(tmp_path, monkeypatch):
    """A read-only state directory must not stop the daemon, nor let two run."""
    import monitor.store.lock as lock_module

    real_open = lock_module.os.open

    def read_only(path, flags, *args):
        if str(path).endswith("/lock") and flags & lock_module.os.O_CREAT:
            raise OSError(30, "Read-only file system", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(lock_module.os, "open", read_only)
    first = StateDirLock.acquire(tmp_path)
    try:
        assert not (tmp_path / "lock").exists()
        with pytest.raises(StateDirLocked, match="another process"):
            StateDirLock.acquire(tmp_path)
    finally:
        first.release()
