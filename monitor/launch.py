"""The entry point of ``slurm-sla`` and ``python -m monitor``, kept light on purpose: for
``run`` it holds SIGHUP as a pending reload (:mod:`monitor.heldreload`) before the first
heavy import, then hands over to the CLI."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from monitor.heldreload import hold_reloads, reload_requested

__all__ = ["hold_reloads", "main", "reload_requested"]


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if args[:1] == ["run"]:
        hold_reloads()
    # Imported here, not at the top: the CLI's imports are the slow start a SIGHUP may hit.
    from monitor.cli import main as cli_main

    return cli_main(argv)
