"""A SIGHUP that arrives while ``slurm-sla run`` starts, held as a pending reload.

SIGHUP's default action ends a process. ``run`` takes SIGHUP as "reload" only once its
service is up, after importing, reading the config and opening the store: a second or more
on a busy machine, in which a SIGHUP from logrotate or a config tool killed the starting
daemon (exit 129). So the entry point holds such a SIGHUP here before any heavy import, and
the service, once it runs, asks whether one came. Both sides import this module; neither
imports the other.
"""

from __future__ import annotations

import signal
import threading
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


def forget() -> None:
    """Drop a held SIGHUP (tests that raise one)."""
    _reload_pending.clear()
