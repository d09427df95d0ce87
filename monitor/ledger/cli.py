"""``slurm-sla maintenance add|list|remove``: planned maintenance windows in the store.

Every change is audited (who, when, why). Windows defined in the config file are mirrored
into the store by the daemon and cannot be removed here: edit the file and reload.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import os
import socket
import sys

from monitor.cli_args import COULD_NOT_RUN, add_config_argument
from monitor.config import SERVICES, Config, load_config
from monitor.config_schema import FIRST_INSTANT, LAST_INSTANT
from monitor.errors import MonitorError
from monitor.ledger.maintenance import StoredWindow, config_key, validate
from monitor.ledger.store import LedgerStore
from monitor.ledger.timebase import iso, parse_instant, to_us
from monitor.statestore import open_state_store
from monitor.store.db import DB_NAME


def register_maintenance(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "maintenance",
        help="add, list or remove planned maintenance windows",
        description="Planned maintenance windows, stored (and audited) in the state store. "
        "Downtime inside a window does not count against the SLA.",
    )
    actions = p.add_subparsers(title="actions", metavar="ACTION")
    p.set_defaults(handler=lambda args: _usage(p))

    add = actions.add_parser(
        "add",
        help="plan a window",
        description="Plan a maintenance window. Times are ISO 8601 with a UTC offset "
        "(2026-12-01T02:00:00Z). Repeats keep their local time in [sla] timezone.",
    )
    add_config_argument(add)
    add.add_argument("--start", required=True, metavar="ISO", help="when it begins")
    add.add_argument("--end", required=True, metavar="ISO", help="when it ends")
    add.add_argument(
        "--cluster", action="extend", nargs="+", metavar="NAME", help="clusters (default: all)"
    )
    add.add_argument(
        "--service",
        action="extend",
        nargs="+",
        choices=SERVICES,
        metavar="NAME",
        help=f"services: {', '.join(SERVICES)} (default: all)",
    )
    add.add_argument("--reason", default="", metavar="TEXT", help="why (shown in reports)")
    add.add_argument("--repeat", choices=("daily", "weekly"), help="repeat the window")
    add.add_argument("--until", metavar="ISO", help="last repetition starts at or before this")
    add.add_argument(
        "--forever",
        action="store_true",
        help="with --repeat and no --until: repeat with no end (say so, it is never implied)",
    )
    add.add_argument(
        "--retroactive",
        action="store_true",
        help="allow a window that begins in the past: it erases downtime already recorded "
        "(reports show it as retroactive)",
    )
    _by_arg(add)
    add.set_defaults(handler=_add)

    lst = actions.add_parser(
        "list", help="list windows", description="List maintenance windows (a table or JSON)."
    )
    add_config_argument(lst)
    lst.add_argument("--json", action="store_true", help="print JSON instead of a table")
    lst.add_argument("--all", action="store_true", help="include removed windows")
    lst.set_defaults(handler=_list)

    rm = actions.add_parser(
        "remove",
        help="cancel a window",
        description="Cancel window ID from now on: an occurrence in progress ends now, later "
        "ones are dropped, past ones still count as maintenance. --purge removes it "
        "entirely, past included (to correct a mistake). Both are audited.",
    )
    rm.add_argument("id", type=int, metavar="ID")
    add_config_argument(rm)
    rm.add_argument("--reason", default="", metavar="TEXT", help="why (audited)")
    rm.add_argument("--purge", action="store_true", help="also erase its past occurrences")
    _by_arg(rm)
    rm.set_defaults(handler=_remove)


def _usage(p: argparse.ArgumentParser) -> int:
    p.print_help(sys.stderr)
    return COULD_NOT_RUN


def _by_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--by", metavar="WHO", help="who does this (default: user@host)")


def _actor(args: argparse.Namespace) -> str:
    if args.by:
        return str(args.by)
    user = os.environ.get("SUDO_USER") or getpass.getuser()
    return f"{user}@{socket.gethostname()}"


def _instant(text: str, option: str) -> int:
    try:
        value = parse_instant(text)
    except ValueError as exc:
        raise MonitorError(f"{option}: {exc}") from None
    except OverflowError:  # 0001-01-01T00:00+23:59 is before year 1 in UTC
        raise MonitorError(f"{option}: {text!r} is out of range") from None
    # The same bounds as the config's windows: the ledger counts from 1970, and a repeat
    # must not step past year 9999.
    if not FIRST_INSTANT <= value <= LAST_INSTANT:
        raise MonitorError(f"{option}: must be between 1970-01-01 and 9998-12-31, got {text}")
    return to_us(value)


def _store(config: Config) -> LedgerStore:
    return LedgerStore(open_state_store(config.monitor.state_dir))


def _add(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    start, end = _instant(args.start, "--start"), _instant(args.end, "--end")
    until = _instant(args.until, "--until") if args.until else None
    repeat = args.repeat or "none"
    if args.forever and (repeat == "none" or until is not None):
        raise MonitorError("--forever goes with --repeat and without --until")
    if repeat != "none" and until is None and not args.forever:
        raise MonitorError(
            f"--repeat {repeat} needs --until ISO (the last repetition) or --forever"
        )
    problems = validate(
        start,
        end,
        repeat,
        until,
        known_clusters=[c.name for c in config.clusters],
        clusters=args.cluster,
        services=args.service,
        all_services=SERVICES,
    )
    if problems:
        raise MonitorError("; ".join(problems))
    now = to_us(dt.datetime.now(dt.UTC))
    if start < now and not args.retroactive:
        # A window in the past turns downtime already counted into maintenance: changing
        # an SLA ledger's past must be asked for, never a side effect of a typo.
        raise MonitorError(
            f"--start {args.start} is in the past: the window would erase downtime already "
            "recorded; add --retroactive to do that (reports show the window as retroactive)"
        )
    window = StoredWindow(
        id=0,
        origin="cli",
        start_us=start,
        end_us=end,
        clusters=tuple(dict.fromkeys(args.cluster)) if args.cluster else None,
        services=tuple(dict.fromkeys(args.service)) if args.service else None,
        reason=args.reason,
        repeat=repeat,
        until_us=until,
        timezone=config.sla.timezone,
        created_us=now,
        created_by=_actor(args),
    )
    window_id = _store(config).add_window(window, args.reason)
    print(f"added maintenance window {window_id}: {_describe(window)}")
    if start < now:
        print(
            f"slurm-sla: note: window {window_id} is retroactive: downtime already "
            "recorded inside it no longer counts against the SLA (reports say so)",
            file=sys.stderr,
        )
    return 0


def _remove(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    store = _store(config)
    found = {w.id: w for w in store.windows(include_removed=True)}.get(args.id)
    if found is None:
        raise MonitorError(f"no maintenance window {args.id} (see `slurm-sla maintenance list`)")
    if found.origin == "config":
        raise MonitorError(
            f"maintenance window {args.id} is defined in the config file: remove it from "
            f"{args.config} and reload the daemon (SIGHUP)"
        )
    if found.removed:
        raise MonitorError(
            f"maintenance window {args.id} was already removed on {iso(found.removed_us or 0)} "
            f"by {found.removed_by}"
        )
    now = to_us(dt.datetime.now(dt.UTC))
    store.remove_window(args.id, _actor(args), args.reason, now, None if args.purge else now)
    how = "purged (past occurrences no longer count)" if args.purge else "cancelled from now on"
    print(f"removed maintenance window {args.id}: {how}")
    return 0


def _list(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    db_path = config.monitor.state_dir / DB_NAME
    stored = _store(config).windows(include_removed=args.all) if db_path.exists() else []
    mirrored = {w.config_key for w in stored if w.origin == "config" and not w.removed}
    rows: list[dict[str, object]] = [
        w.to_dict() | {"pending": False, "removal": _removal(w)} for w in stored
    ]
    for w in config.maintenance:
        if config_key(w) not in mirrored:
            rows.append(
                {
                    "id": None,
                    "origin": "config",
                    "start": iso(to_us(w.start)),
                    "end": iso(to_us(w.end)),
                    "clusters": list(w.clusters) if w.clusters is not None else None,
                    "services": list(w.services) if w.services is not None else None,
                    "reason": w.reason,
                    "repeat": w.repeat,
                    "until": iso(to_us(w.until)) if w.until is not None else None,
                    "pending": True,  # in the file, not yet mirrored by the daemon
                }
            )
    if args.json:
        json.dump({"windows": rows}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(_table(rows))
    return 0


def _table(rows: list[dict[str, object]]) -> str:
    head = ["ID", "ORIGIN", "START", "END", "REPEAT", "CLUSTERS", "SERVICES", "BY", "REASON"]
    lines = [head]
    for r in rows:
        repeat = str(r["repeat"])
        if r.get("until"):
            repeat += f" until {r['until']}"
        origin = str(r["origin"]) + (" (pending reload)" if r.get("pending") else "")
        if r.get("removed_at"):
            how = "purged" if r.get("removal") == "purged" else "cancelled"
            origin += f" ({how} {r['removed_at']} by {r['removed_by']})"
        lines.append(
            [
                "-" if r["id"] is None else str(r["id"]),
                origin,
                str(r["start"]),
                str(r["end"]),
                repeat,
                ",".join(r["clusters"]) if r["clusters"] else "all",  # type: ignore[arg-type]
                ",".join(r["services"]) if r["services"] else "all",  # type: ignore[arg-type]
                str(r.get("created_by") or ""),
                str(r["reason"]),
            ]
        )
    if len(lines) == 1:
        return "no maintenance windows\n"
    widths = [max(len(row[i]) for row in lines) for i in range(len(head) - 1)]
    return "".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False))
        + "  "
        + row[-1]
        + "\n"
        for row in lines
    )


def _removal(w: StoredWindow) -> str | None:
    """``purged`` (no occurrence ever counts), ``cancelled`` (past ones still count), or
    None while the window stands."""
    if not w.removed:
        return None
    return "purged" if w.effective_us is None else "cancelled"


def _describe(w: StoredWindow) -> str:
    text = f"{iso(w.start_us)} to {iso(w.end_us)}"
    if w.repeat != "none":
        text += f", {w.repeat}" + (f" until {iso(w.until_us)}" if w.until_us else "")
    text += f"; clusters: {','.join(w.clusters) if w.clusters else 'all'}"
    text += f"; services: {','.join(w.services) if w.services else 'all'}"
    return text
