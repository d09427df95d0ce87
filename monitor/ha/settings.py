"""The ``[ha]`` table: this replica's name, its peers, and the Alertmanager cluster every
notice goes through. Read with the config's :class:`Reader`, so every error carries its key
path and line. HA mode is the table being present.

```toml
[ha]
replica = "a"                                    # this replica: a label value
peers = ["https://mon-b:9817"]                   # the other replicas (ledger exchange)
alertmanagers = ["http://am1:9093", "http://am2:9093"]   # the cluster both replicas send to
disagreement = "up"                              # merged reports: up | down | majority
peer_user = "peer"                               # basic auth on the peers' /ledger/export
peer_password_file = "/etc/slurm-sla-monitor/peer.pw"   # its password (mode 0640 or tighter)
peer_ca_file = "/etc/slurm-sla-monitor/peers-ca.pem"    # the peers' private CA (https)
report_sender = "a"                              # the replica that mails the monthly report

[[ha.receivers]]          # same schema as [[receivers]]; only `slurm-sla alertmanager-config`
name = "oncall"           # reads them, to write the Alertmanager's own receivers
type = "webhook"
url = "https://hooks.example.org/slurm"
```

Why direct ``[[receivers]]`` are refused here: two replicas each sending to a webhook page
twice. Alertmanager's gossiped notification log is what makes one page of two replicas'
identical alerts, so in HA mode every notice goes through it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.alerting.providers.base import check_url
from monitor.config_schema import KeyPath, Reader

# The receiver the daemon sends to in HA mode: every URL of `alertmanagers`, through the
# `alertmanager` provider and the outbox. Reserved, so no [[receivers]] entry can shadow it.
CLUSTER_RECEIVER = "alertmanager-cluster"
DISAGREEMENT_RULES = ("up", "down", "majority")  # the README's "HA: one SLA truth"
_REPLICA = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
DIRECT_REFUSED = (
    "two replicas would page twice: in HA mode every notice goes through the Alertmanager "
    "cluster, which deduplicates; move this receiver to [[ha.receivers]] and generate the "
    "Alertmanager's config with `slurm-sla alertmanager-config`"
)

# Reads one receiver table (the config's own reader: same schema, same errors)
ReadReceiver = Callable[[Reader, dict[str, Any], KeyPath], Any]


@dataclass(frozen=True)
class HaSettings:
    replica: str
    peers: tuple[str, ...] = ()
    alertmanagers: tuple[str, ...] = ()
    receivers: tuple[Any, ...] = ()  # monitor.config.ReceiverConfig: for the AM config only
    # How a merged report counts a slice the replicas saw differently (monitor.report):
    # None leaves it to the report's default.
    disagreement: str | None = None
    # Basic auth and CA for pulling the peers' ledgers (monitor.ha.peer_auth says which
    # source wins: the command line, then the environment, then these).
    peer_user: str = ""
    peer_password_file: Path | None = None
    peer_ca_file: Path | None = None
    # The replica whose report timer mails the monthly report; the others mail it only
    # while it does not answer (monitor.ha.report_sender). Empty: no report is mailed.
    report_sender: str = ""


def read_ha(
    r: Reader,
    raw: Any,
    p: KeyPath,
    *,
    receivers: Sequence[tuple[str, str]],
    read_receiver: ReadReceiver,
) -> HaSettings | None:
    """None without an ``[ha]`` table (single-replica mode). ``receivers``: the direct
    ``[[receivers]]`` as (name, type), refused here unless they are Alertmanagers."""
    if raw is None:
        return None
    d = r.table(raw, p, HaSettings.__dataclass_fields__)
    replica = r.string(d, p, "replica", "", required=True) or ""
    if replica and not _REPLICA.match(replica):
        r.error((*p, "replica"), "use letters, digits, '.', '_' and '-' (it becomes a label)")
    peers = _urls(r, d, p, "peers")
    alertmanagers = _urls(r, d, p, "alertmanagers")
    if not alertmanagers:
        r.error(
            (*p, "alertmanagers"),
            'name at least one Alertmanager (e.g. ["http://am1:9093", "http://am2:9093"]):'
            " in HA mode it is the only way a notice leaves the monitor",
        )
    for i, (name, kind) in enumerate(receivers):
        if kind != "alertmanager":
            r.error(("receivers", i, "type"), DIRECT_REFUSED)
        if name == CLUSTER_RECEIVER:
            r.error(("receivers", i, "name"), f"{CLUSTER_RECEIVER!r} is reserved in HA mode")
    ha_receivers = tuple(
        read_receiver(r, t, (*p, "receivers", i))
        for i, t in enumerate(r.tables(d.get("receivers"), (*p, "receivers")))
    )
    names = [x.name for x in ha_receivers]
    for i, x in enumerate(ha_receivers):
        if x.name and names.index(x.name) != i:
            r.error((*p, "receivers", i, "name"), f"duplicate receiver name {x.name!r}")
        if x.type == "alertmanager":
            r.error(
                (*p, "receivers", i, "type"),
                "an Alertmanager does not forward to another Alertmanager; list it in "
                "ha.alertmanagers instead",
            )
    disagreement = r.string(d, p, "disagreement", None, choices=DISAGREEMENT_RULES)
    peer_user = r.string(d, p, "peer_user", "") or ""
    password_file = r.path(d, p, "peer_password_file", None)
    if peer_user and password_file is None:
        r.error(
            (*p, "peer_user"),
            "needs peer_password_file (the password is never written in this file, which is "
            "the same on every replica)",
        )
    if password_file is not None and not peer_user:
        r.error((*p, "peer_password_file"), "needs peer_user")
    sender = r.string(d, p, "report_sender", "") or ""
    if sender and not _REPLICA.match(sender):
        r.error((*p, "report_sender"), "a replica name: letters, digits, '.', '_' and '-'")
    return HaSettings(
        replica, peers, alertmanagers, ha_receivers, disagreement,
        peer_user=peer_user,
        peer_password_file=password_file,
        peer_ca_file=r.path(d, p, "peer_ca_file", None),
        report_sender=sender,
    )  # fmt: skip


def check_gate(r: Reader, *, blind_enabled: bool) -> None:
    """What the peer-view gate (monitor.ha.gate) needs of ``[alerts]``: a replica cut off
    from the cluster withholds its Down pages while a peer sees the service up, and says
    so only with SlurmMonitorBlind."""
    if not blind_enabled:
        r.error(
            ("alerts", "rules", "SlurmMonitorBlind", "enabled"),
            "must stay enabled in HA mode: a replica cut off from the cluster withholds its "
            "Down pages while a peer sees the service up, and SlurmMonitorBlind is the only "
            "alert that says so; disabled, a cut-off replica is silent",
        )


def _urls(r: Reader, d: dict[str, Any], p: KeyPath, key: str) -> tuple[str, ...]:
    urls = r.strings(d, p, key, ()) or ()
    for i, url in enumerate(urls):
        for _, message in check_url(key, url):
            r.error((*p, key, i), message)
        if url in urls[:i]:
            # one peer asked twice would count as two views (and two ledgers) of one replica
            r.error((*p, key, i), f"{url!r} is listed twice")
    return urls
