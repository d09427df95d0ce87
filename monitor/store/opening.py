"""Opening the state store with a reason a user can act on.

SQLite says "unable to open database file" for a read-only directory and Python says "File
exists" for a ``state_dir`` that is a file; neither says what to fix. Every command that
opens the store (``run``, ``report``, ``maintenance``) goes through :func:`open_store`
(by way of :func:`monitor.statestore.open_state_store`, which adds the features' schemas) so
each says the same thing.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from monitor.errors import StoreError
from monitor.store.db import DB_NAME, Database, Migration


def open_store(
    state_dir: Path,
    *,
    migrations: Sequence[Migration],
    create: bool = True,
    **kwargs: object,
) -> Database:
    """The store in ``state_dir`` at the schema ``migrations`` make. ``create=False`` (a
    report, a listing) refuses to make an empty store where the monitor has recorded
    nothing."""
    problem = state_dir_problem(state_dir)
    if problem:
        raise StoreError(problem)
    if not create and not (state_dir / DB_NAME).exists():
        raise StoreError(
            f"no state store at {state_dir / DB_NAME}: the monitor has recorded nothing "
            "there (is [monitor] state_dir right?)"
        )
    try:
        return Database.in_dir(state_dir, migrations=migrations, **kwargs)
    except StoreError as exc:
        hint = diagnose(state_dir)
        if hint:
            raise StoreError(f"{exc} ({hint})") from exc
        raise


def state_dir_problem(state_dir: Path) -> str | None:
    """What is wrong with ``state_dir`` itself, before SQLite words it badly; None if
    nothing visible is."""
    probe = state_dir
    while True:
        try:
            is_dir = probe.is_dir()
            exists = is_dir or probe.exists() or probe.is_symlink()
        except OSError as exc:
            return f"state_dir {state_dir}: {exc.strerror or exc}"
        if exists and not is_dir:
            what = _kind(probe)
            if probe == state_dir:
                return f"state_dir {state_dir} is {what}, not a directory"
            return f"state_dir {state_dir}: {probe} is {what}, not a directory"
        if exists or probe == probe.parent:
            break
        probe = probe.parent
    # ``probe`` is the deepest directory that exists: the store is made in it or below it.
    if not os.access(probe, os.W_OK | os.X_OK):
        return (
            f"state_dir {probe} is not writable by uid {os.geteuid()} "
            "(give it to the user the monitor runs as)"
        )
    return None


def _kind(path: Path) -> str:
    """What a path that is not a directory is, in words."""
    if path.is_file():
        return "a file"
    if path.is_symlink() and not path.exists():
        return "a symbolic link to nothing (missing target, or a loop)"
    return "a device, socket or FIFO"


def diagnose(state_dir: Path) -> str | None:
    """Why files in ``state_dir`` could not be written, if the file system tells."""
    probe = state_dir
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        fs = os.statvfs(probe)
    except OSError:
        return None
    if fs.f_flag & os.ST_RDONLY:
        return f"{probe} is on a read-only file system"
    if fs.f_bavail == 0:
        return f"the disk holding {probe} is full"
    if not os.access(probe, os.W_OK):
        return f"{probe} is not writable by uid {os.geteuid()}"
    return None
