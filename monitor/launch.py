"""The entry point of ``slurm-sla`` and ``python -m monitor``, kept light on purpose.

SIGHUP's default action ends a process. ``slurm-sla run`` takes SIGHUP as "reload" only once
its service is up, after importing, reading the config and opening the store: a second or
more on a busy machine, in which a SIGHUP from logrotate or a config tool killed the
starting daemon (exit 129). So the first thing ``run`` does, before any heavy import, is
hold such a SIGHUP as a pending reload, which the service applies once it runs.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

_reload_pending = threading.Event()


def hold_reloads() -> None:
    """Until the service installs its own handler, remember a SIGHUP instead of dying."""

    def held(signum: int, frame: FrameType | None) -> None:
        _reload_pending.set()

    signal.signal(signal.SIGHUP, held)


def reload_requested() -> bool:
    """True if a SIGHUP arrived while held (the service reloads once it runs)."""
    return _reload_pending.is_set()


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if args[:1] == ["run"]:
        hold_reloads()
    from monitor.cli import main as cli_main

    return cli_main(argv)
