"""Writing reports to files: atomically (a reader never sees half a report), and every
format of a month at once (``slurm-sla report --archive``, the monthly timer, the demo)."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

from monitor.config import Config, load_config
from monitor.errors import MonitorError
from monitor.ledger.store import LedgerStore, open_database
from monitor.ledger.timebase import parse_month, to_us
from monitor.report.assemble import (
    build_report,
    config_digest,
    current_month,
    last_complete_month,
)
from monitor.report.model import Report
from monitor.report.render import file_name, render
from monitor.store.db import DB_NAME


def write_atomic(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as exc:
        raise MonitorError(f"cannot write {path}: {exc.strerror or exc}") from None


def resolve_month(text: str | None, tz: ZoneInfo, now: dt.datetime) -> tuple[int, int]:
    """``YYYY-MM``; ``current``; None or ``previous``: the last complete month."""
    if text is None or text == "previous":
        return last_complete_month(to_us(now), tz)
    if text == "current":
        return current_month(to_us(now), tz)
    try:
        return parse_month(text)
    except ValueError as exc:
        raise MonitorError(f"--month: {exc}") from None


def open_store(config: Config) -> LedgerStore:
    """The store, if the monitor has made one: a report never creates an empty store."""
    state_dir = config.monitor.state_dir
    if not (state_dir / DB_NAME).exists():
        raise MonitorError(
            f"no state store at {state_dir / DB_NAME}: the monitor has recorded nothing "
            "there (is [monitor] state_dir right?)"
        )
    return LedgerStore(open_database(state_dir))


def read_config(path: Path) -> tuple[Config, str]:
    """The config and the sha256 of its bytes (the report names it)."""
    config = load_config(path)
    try:
        return config, config_digest(Path(path).read_bytes())
    except OSError as exc:
        raise MonitorError(f"{path}: cannot read: {exc.strerror or exc}") from None


def make_report(
    config: Config,
    digest: str,
    month: str | None,
    clusters: Sequence[str] | None,
    now: dt.datetime,
) -> Report:
    tz = ZoneInfo(config.sla.timezone)
    year, mon = resolve_month(month, tz, now)
    names = {c.name for c in config.clusters}
    for name in clusters or ():
        if name not in names:
            source = config.source or "the configuration"
            raise MonitorError(f"no cluster named {name!r} in {source}")
    store = open_store(config)
    try:
        return build_report(
            store, config, year, mon, config_sha256=digest, clusters=clusters, now=now
        )
    finally:
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
