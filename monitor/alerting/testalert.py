"""``slurm-sla test-alert``: a clearly marked test alert, firing then resolved, straight to
each receiver (not through the outbox: the point is to see whether delivery works now)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from monitor.alerting.model import AlertNotice, Notification, dedup_key, fingerprint, group_key
from monitor.alerting.providers.base import Delivery
from monitor.alerting.providers.http import HttpClient
from monitor.alerting.sender import Receiver
from monitor.cli_args import add_config_argument
from monitor.config import Config, load_config
from monitor.errors import UsageError
from monitor.probes.base import utc_now

ALERTNAME = "SlurmSLATestAlert"


def test_notification(
    receiver: str,
    cluster: str,
    external_url: str,
    status: str,
    starts: dt.datetime,
    now: dt.datetime,
) -> Notification:
    labels = {"alertname": ALERTNAME, "severity": "info", "cluster": cluster, "test": "true"}
    annotations = {
        "summary": "TEST alert from slurm-sla-monitor: please ignore",
        "description": (
            f"Sent by `slurm-sla test-alert` to check that receiver {receiver!r} gets alerts. "
            "It resolves at once; no action is needed."
        ),
    }
    alert = AlertNotice(
        fingerprint(cluster, ALERTNAME, "test"),
        dedup_key(cluster, ALERTNAME, "test"),
        status,
        labels,
        annotations,
        starts,
        now if status == "resolved" else None,
    )
    group = {"cluster": cluster}
    return Notification(receiver, group_key(group), group, (alert,), now, external_url, "test")


def send_test(
    config: Config,
    receivers: Sequence[Receiver],
    clock: Callable[[], dt.datetime] = utc_now,
    http: HttpClient | None = None,
) -> list[tuple[str, str, Delivery]]:
    """Each receiver gets the firing notice, then (if that worked) the resolved one. The
    receivers are tried at once, each attempt bounded by its deadline, so the command
    takes at most two deadlines however many receivers are slow."""
    http = http or HttpClient()
    cluster = config.clusters[0].name if config.clusters else "test"

    def one(r: Receiver) -> list[tuple[str, str, Delivery]]:
        results = []
        starts = clock()
        for status in ("firing", "resolved"):
            n = test_notification(
                r.name, cluster, config.alerts.external_url, status, starts, clock()
            )
            outcome = r.deliver(n, clock(), http)
            results.append((r.name, status, outcome))
            if not outcome.ok:
                break
        return results

    if not receivers:
        return []
    with ThreadPoolExecutor(max_workers=len(receivers)) as pool:
        return [row for rows in pool.map(one, receivers) for row in rows]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "test-alert",
        help="send a test alert (firing, then resolved) to the receivers",
        description="Send a clearly marked test alert, firing then resolved, to every "
        "configured receiver (or only --receiver NAME), all at once; each attempt ends "
        "at the receiver's timeout_seconds. Exit 0 when all were delivered, 1 if any failed.",
    )
    add_config_argument(p)
    p.add_argument("--receiver", metavar="NAME", help="only this receiver")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    from monitor.alerting.service import delivery_receivers  # the daemon's own list

    # In HA mode that includes the Alertmanager cluster (receiver "alertmanager-cluster")
    receivers = [r for r in delivery_receivers(config) if args.receiver in (None, r.name)]
    if args.receiver and not receivers:
        raise UsageError(f"no receiver named {args.receiver!r} in {args.config}")
    if not receivers:
        raise UsageError(f"{args.config}: no [[receivers]] configured")
    failed = 0
    for name, status, outcome in send_test(config, receivers):
        if outcome.ok:
            print(f"{name}: test alert {status}: delivered")
        else:
            failed += 1
            print(
                f"slurm-sla test-alert: {name}: test alert {status}: not delivered: "
                f"{outcome.error}",
                file=sys.stderr,
            )
    return 1 if failed else 0
