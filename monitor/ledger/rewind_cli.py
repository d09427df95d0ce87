"""``slurm-sla ledger rewind``: remove the ledger records a wrong clock dated in the future
(monitor/ledger/rewind.py says what goes and what stays). A dry run unless ``--apply``;
``--apply`` needs the daemon stopped (it takes the state directory's lock) and keeps a copy
of the whole store first."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable

from monitor.cli_args import add_config_argument
from monitor.config import load_config
from monitor.errors import UsageError
from monitor.ledger import rewind
from monitor.ledger.timebase import iso, parse_instant, to_us
from monitor.statestore import open_state_store
from monitor.store.lock import StateDirLock

BACKUPS = "backups"


def add_rewind(actions: argparse._SubParsersAction) -> None:
    p = actions.add_parser(
        "rewind",
        help="remove ledger records dated after an instant (a wrong clock's)",
        description="Remove every ledger record dated after --to (default: now): what a "
        "wall clock set forward by mistake wrote. Those observations are lost (unknown "
        "time). Without --apply, only says what would go. --apply needs the daemon stopped "
        f"and first copies the whole store to STATE_DIR/{BACKUPS}/.",
    )
    add_config_argument(p)
    p.add_argument("--to", metavar="ISO", help="keep records up to this instant (default: now)")
    p.add_argument("--apply", action="store_true", help="remove them (default: a dry run)")
    p.set_defaults(handler=run_rewind)


def run_rewind(
    args: argparse.Namespace, now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
) -> int:
    config = load_config(args.config)
    at = now()
    cutoff = to_us(_instant(args.to) if args.to else at)
    state_dir = config.monitor.state_dir
    lock = StateDirLock.acquire(state_dir) if args.apply else None  # the daemon must be off
    try:
        db = open_state_store(state_dir, create=False)
        try:
            found = rewind.plan(db, cutoff)
            _describe(found)
            if found.empty or not args.apply:
                if not found.empty:
                    print("dry run: nothing changed; --apply removes them")
                return 0
            copy = rewind.backup(db, state_dir / BACKUPS, at)
            rewind.apply(db, cutoff)
            print(f"removed; the store as it was is in {copy}")
            return 0
        finally:
            db.close()
    finally:
        if lock is not None:
            lock.release()


def _instant(text: str) -> dt.datetime:
    try:
        return parse_instant(text)
    except (ValueError, OverflowError) as exc:
        raise UsageError(f"--to: {exc}") from None


def _describe(found: rewind.RewindPlan) -> None:
    latest = iso(found.latest_us) if found.latest_us is not None else "nothing"
    print(f"cut at {iso(found.cutoff_us)}; the store's latest record: {latest}")
    if found.empty:
        print("nothing is dated after the cut")
        return
    for c in found.clusters:
        print(
            f"cluster {c.cluster}: {c.transitions} transition(s) and {c.segments} heartbeat "
            f"segment(s) removed; {c.cut_segments} segment(s) end at the cut, "
            f"{c.confirmations} transition(s) confirmed at it"
        )
    print(f"{found.runs} monitor run(s) began after the cut")
