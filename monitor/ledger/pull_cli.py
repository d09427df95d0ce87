"""``slurm-sla ledger pull``: fetch the HA peers' ledger records once (from ``--from URL``,
else every ``[ha] peers`` URL) into ``state_dir/peers``, where ``slurm-sla report`` merges
them with the state store. Exit 0 when every peer answered, 1 otherwise (one line each)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from monitor.cli_args import add_config_argument
from monitor.config import load_config
from monitor.errors import MonitorError
from monitor.ha.peer_auth import PASSWORD_ENV, USER_ENV, peer_auth
from monitor.ledger.rewind_cli import add_rewind


def register_ledger(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ledger",
        help="the SLA ledger: exchange records with HA peers, repair a wrong clock's",
        description="The ledger exchange between HA replicas, and its repair after a "
        "wall clock set forward by mistake.",
    )
    actions = p.add_subparsers(title="actions", metavar="ACTION")
    p.set_defaults(handler=lambda args: (p.print_usage(sys.stderr), 1)[1])
    pull = actions.add_parser(
        "pull",
        help="fetch the peers' ledger records once",
        description="Fetch each peer's ledger records since the last pull (GET "
        "/ledger/export on its HTTP endpoint, basic auth as for /metrics) into "
        "state_dir/peers/NAME.sqlite3; `slurm-sla report` then merges them.",
    )
    add_config_argument(pull)
    pull.add_argument(
        "--from",
        dest="peers",
        action="append",
        metavar="URL",
        help="a peer's endpoint, e.g. https://mon-b:9817 (repeatable; default: [ha] peers)",
    )
    pull.add_argument(
        "--user",
        help=f"basic auth user on the peers' endpoints (default: {USER_ENV}, else [ha] peer_user)",
    )
    pull.add_argument(
        "--password-file",
        type=Path,
        metavar="FILE",
        help=f"its password (default: the {PASSWORD_ENV} environment variable)",
    )
    pull.add_argument(
        "--ca-file",
        type=Path,
        metavar="FILE",
        help="CA bundle for https peers (default: [ha] peer_ca_file, else the system's)",
    )
    pull.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS")
    pull.set_defaults(handler=run_pull)
    add_rewind(actions)


def run_pull(args: argparse.Namespace) -> int:
    from monitor.ledger.peers import pull

    config = load_config(args.config)
    ha = getattr(config, "ha", None)
    peers = args.peers or list(getattr(ha, "peers", ()) or ())
    if not peers:
        raise MonitorError("no peer to pull from: give --from URL or set [ha] peers")
    credentials = peer_auth(
        ha, user=args.user, password_file=args.password_file, ca_file=args.ca_file
    )
    failed = 0
    for url in peers:
        try:
            got = pull(
                url,
                config.monitor.state_dir,
                auth=credentials.auth,
                verify=credentials.verify,
                timeout=args.timeout,
            )
        except MonitorError as exc:
            print(f"slurm-sla: {url}: {exc}", file=sys.stderr)
            failed += 1
            continue
        print(f"{url}: replica {got.replica}: {got.records} records stored in {got.path}")
    return 1 if failed else 0
