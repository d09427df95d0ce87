"""``slurm-sla status --output DIR``: the daemon's ``/status`` page as static files
(``index.html`` and ``status.json``), for publishing on any web server. The state shown is
the ledger's last record (unknown when that is older than three probe intervals). Exit 0;
1 for an unknown customer or a DIR that cannot be written; 4 when it could not run (the
config or the store)."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from monitor.cli_args import add_config_argument
from monitor.config import load_config
from monitor.errors import MonitorError
from monitor.ledger.timebase import to_us
from monitor.report.files import open_store, write_atomic
from monitor.status.model import build_status
from monitor.status.render_html import render_html
from monitor.status.render_json import render_json

FILES = (("index.html", render_html), ("status.json", render_json))


def register_status(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "status",
        help="write the status page (/status) as static files",
        description="Write the daemon's status page from the SLA ledger into DIR as "
        "index.html (self-contained: inline CSS and SVG) and status.json: per cluster and "
        "service the state, the month to date against the objective, 90 daily bars, "
        "incidents, failovers and announced maintenance. Exit 0; 1 for an unknown "
        "customer or a DIR that cannot be written; 4 when it could not run.",
    )
    add_config_argument(p)
    p.add_argument("--output", type=Path, required=True, metavar="DIR", help="where to write")
    p.add_argument("--customer", metavar="NAME", help="only this customer's clusters")
    p.add_argument(
        "--public",
        action="store_true",
        help="no host names and no causes, whatever [status] public says",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if args.output.exists() and not args.output.is_dir():
        raise MonitorError(f"--output {args.output}: not a directory")
    store = open_store(config)
    try:
        page = build_status(
            store,
            config,
            to_us(dt.datetime.now(dt.UTC)),
            customer=args.customer,
            public=True if args.public else None,
        )
    finally:
        store.db.close()
    for name, render in FILES:
        path = args.output / name
        write_atomic(path, render(page))
        print(f"wrote {path}")
    return 0
