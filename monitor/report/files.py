"""Writing reports to files: atomically (a reader never sees half a report), and every
format of a month at once (``slurm-sla report --archive``, the monthly timer, the demo).

``--output PATH`` follows one rule (:func:`write_output`): a regular file, or a path that
does not exist yet, is written to a temporary file beside it and renamed over it; a symlink
is followed to its target, which gets the same rule (the link stays); a character device
(``/dev/null``, a terminal) or a FIFO is opened and written, never replaced; ``/dev/stdout``,
``/dev/fd/N`` and ``/proc/self/fd/N`` write to that file descriptor, wherever the caller
redirected it; a directory, socket or block device is refused.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import re
import stat
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

from monitor.boundedread import read_bytes
from monitor.config import Config, load_config
from monitor.errors import MonitorError
from monitor.ledger.merge import DEFAULT_RULE
from monitor.ledger.replicas import (
    PEER_SUFFIX,
    MergedLedger,
    Replica,
    peer_paths,
    replica_name,
)
from monitor.ledger.store import LedgerStore
from monitor.ledger.timebase import parse_month, to_us
from monitor.report.assemble import (
    build_report,
    config_digest,
    current_month,
    last_complete_month,
)
from monitor.report.model import Report
from monitor.report.render import file_name, render
from monitor.statestore import MIGRATIONS, open_state_store
from monitor.store.db import Database


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.chmod(tmp, mode)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as exc:
        raise MonitorError(f"cannot write {path}: {exc.strerror or exc}") from None


# /dev/stdout, /dev/fd/1, /proc/self/fd/1, /proc/<our pid>/fd/1: an open descriptor of ours.
_OWN_FD = re.compile(r"/(?:dev/fd|proc/(?:self|thread-self|(?P<pid>\d+))/fd)/(?P<fd>\d+)")
_STD = {"/dev/stdin": 0, "/dev/stdout": 1, "/dev/stderr": 2}


def write_output(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` by the rule in this module's docstring."""
    try:
        fd, target = _follow(path)
        if fd is not None:
            if fd == 1:
                sys.stdout.flush()  # what print() buffered goes first
            with os.fdopen(os.dup(fd), "wb") as f:
                f.write(data)
            return
        try:
            st = os.stat(target)
        except FileNotFoundError:
            st = None
    except OSError as exc:
        raise MonitorError(f"cannot write {path}: {exc.strerror or exc}") from None
    if st is None or stat.S_ISREG(st.st_mode):
        write_atomic(target, data, stat.S_IMODE(st.st_mode) if st else 0o644)
    elif stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode):
        _write_through(path, target, data)
    else:
        kind = "a directory" if stat.S_ISDIR(st.st_mode) else "not a file, FIFO or character device"
        raise MonitorError(f"cannot write {path}: {kind}")


def _follow(path: Path) -> tuple[int | None, Path]:
    """(our file descriptor the path names, or None; the final target of its symlinks)."""
    current = Path(os.path.abspath(path))
    for _ in range(40):  # the kernel's own limit on a chain of links
        text = str(current)
        if text in _STD:
            return _STD[text], current
        m = _OWN_FD.fullmatch(text)
        if m and (m["pid"] is None or int(m["pid"]) == os.getpid()):
            return int(m["fd"]), current
        if not current.is_symlink():
            return None, current
        # Relative links are relative to the link's real directory.
        current = Path(os.path.realpath(current.parent)) / os.readlink(current)
        current = Path(os.path.normpath(current))
    raise OSError(errno.ELOOP, os.strerror(errno.ELOOP))


def _write_through(path: Path, target: Path, data: bytes) -> None:
    # No O_CREAT, no O_TRUNC: a device or FIFO is written, never made or replaced. Opening
    # a FIFO waits for its reader, as for any writer.
    try:
        fd = os.open(target, os.O_WRONLY | os.O_NOCTTY)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    except OSError as exc:
        raise MonitorError(f"cannot write {path}: {exc.strerror or exc}") from None


FIRST_YEAR, LAST_YEAR = 1970, 9998


def resolve_month(text: str | None, tz: ZoneInfo, now: dt.datetime) -> tuple[int, int]:
    """``YYYY-MM``; ``current``; None or ``previous``: the last complete month."""
    if text is None or text == "previous":
        return last_complete_month(to_us(now), tz)
    if text == "current":
        return current_month(to_us(now), tz)
    try:
        year, month = parse_month(text)
    except ValueError as exc:
        raise MonitorError(f"--month: {exc}") from None
    # The ledger counts microseconds since 1970; a month past 9998 has no end datetime
    # can represent (9999-12 ends in year 10000).
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise MonitorError(f"--month: {text.strip()} is outside {FIRST_YEAR}-01 .. {LAST_YEAR}-12")
    return year, month


def open_store(config: Config) -> LedgerStore:
    """The store, if the monitor has made one: a report never creates an empty store."""
    return LedgerStore(open_state_store(config.monitor.state_dir, create=False))


def read_config(path: Path) -> tuple[Config, str]:
    """The config and the sha256 of its bytes (the report names it)."""
    config = load_config(path)
    try:
        return config, config_digest(read_bytes(path))
    except OSError as exc:
        raise MonitorError(f"{path}: cannot read: {exc.strerror or exc}") from None


def open_ledgers(
    config: Config, ledgers: Sequence[str] | None = None, disagreement: str | None = None
) -> LedgerStore | MergedLedger:
    """What a report reads. ``ledgers`` (``--ledger [NAME=]PATH``, a state directory or a
    store file): those replicas merged. Without: the state store, merged with the peers'
    ledgers pulled into ``state_dir/peers`` when there are any (HA), else alone."""
    ha = getattr(config, "ha", None)  # [ha]: read by monitor.ha.settings
    rule = disagreement or getattr(ha, "disagreement", None) or DEFAULT_RULE
    if ledgers:
        replicas: list[Replica] = []
        try:
            for arg in ledgers:
                replicas.append(_replica_arg(arg))
            return MergedLedger(replicas, rule)
        except BaseException:
            for r in replicas:
                r.store.db.close()
            raise
    local = open_store(config)
    peers = peer_paths(config.monitor.state_dir)
    if not peers:
        return local
    replicas = [Replica(ha.replica if ha else replica_name(local, "local"), local)]
    try:
        for path in peers:
            name = path.name.removesuffix(PEER_SUFFIX)
            if name == replicas[0].name:
                raise MonitorError(
                    f"{path}: a peer names itself {name!r}, as this replica does: give each "
                    "replica its own [ha] replica, then remove the file and pull again"
                )
            replicas.append(Replica(name, LedgerStore(Database(path, migrations=MIGRATIONS))))
        return MergedLedger(replicas, rule)
    except BaseException:
        for r in replicas:
            r.store.db.close()
        raise


def _replica_arg(arg: str) -> Replica:
    name, sep, text = arg.partition("=")
    if not sep:
        name, text = "", arg
    path = Path(text)
    if path.is_dir():
        store = LedgerStore(open_state_store(path, create=False))
    elif path.is_file():
        store = LedgerStore(Database(path, migrations=MIGRATIONS))
    else:
        raise MonitorError(f"--ledger {arg}: no such state directory or store file")
    return Replica(name or replica_name(store, path.stem), store)


def make_report(
    config: Config,
    digest: str,
    month: str | None,
    clusters: Sequence[str] | None,
    now: dt.datetime,
    *,
    ledgers: Sequence[str] | None = None,
    disagreement: str | None = None,
) -> Report:
    tz = ZoneInfo(config.sla.timezone)
    year, mon = resolve_month(month, tz, now)
    names = {c.name for c in config.clusters}
    for name in clusters or ():
        if name not in names:
            source = config.source or "the configuration"
            raise MonitorError(f"no cluster named {name!r} in {source}")
    store = open_ledgers(config, ledgers, disagreement)
    try:
        return build_report(
            store, config, year, mon, config_sha256=digest, clusters=clusters, now=now
        )
    finally:
        if isinstance(store, MergedLedger):
            store.close()
        else:
            store.db.close()


def write_reports(
    config_path: Path,
    directory: Path,
    *,
    month: str | None = None,
    formats: Sequence[str] | None = None,
    clusters: Sequence[str] | None = None,
    now: dt.datetime | None = None,
) -> list[Path]:
    """Every format (default: ``[report] formats``) of a month's report into
    ``directory``, as ``slurm-sla-report-YYYY-MM.EXT``; returns the paths written.
    ``month``: ``YYYY-MM``, ``current``, or None for the last complete month."""
    config, digest = read_config(config_path)
    now = now or dt.datetime.now(dt.UTC)
    report = make_report(config, digest, month, clusters, now)
    paths = []
    for fmt in formats or config.report.formats:
        path = directory / file_name(report, fmt)
        write_atomic(path, render(report, fmt))
        paths.append(path)
    return paths
