"""The HA demo's Alertmanager pair: Debian's ``prometheus-alertmanager`` started twice on
loopback, gossiping, with timings shortened to the demo's compressed time (production's
are minutes; the demo's incidents last seconds)."""

from __future__ import annotations

import contextlib
from pathlib import Path

from monitor.demo_watch import alertmanager_peers, free_port, tail, wait_for
from monitor.errors import MonitorError
from monitor.runner import start_child

AM_BINARY = "prometheus-alertmanager"
AM_MISSING = (
    f"slurm-sla demo --ha runs an Alertmanager pair and there is no {AM_BINARY} on PATH: "
    "apt-get install prometheus-alertmanager"
)
# (flag, the demo's value, Alertmanager's default)
GOSSIP_FLAGS = (
    ("cluster.gossip-interval", "100ms", "200ms"),
    ("cluster.pushpull-interval", "1s", "1m0s"),
    ("cluster.peer-timeout", "1s", "15s"),
    ("cluster.settle-timeout", "5s", "1m0s"),
)
PEER_TIMEOUT_SECONDS = 1.0  # the peer-timeout above: a later peer's wait for the first


def start_pair(
    config: Path, urls: list[str], work: Path, stack: contextlib.ExitStack, ready_seconds: float
) -> None:
    """One Alertmanager per URL (``http://127.0.0.1:PORT``) on ``config``, each stopped by
    ``stack``; returns once every one sees all the others."""
    gossip = [free_port() for _ in urls]
    children = []
    for i, url in enumerate(urls):
        name = f"am{i + 1}"
        peers = [f"--cluster.peer=127.0.0.1:{g}" for j, g in enumerate(gossip) if j != i]
        argv = [
            AM_BINARY,
            f"--config.file={config}",
            f"--storage.path={work / name}",
            f"--web.listen-address={url.removeprefix('http://')}",
            f"--web.external-url={url}",  # names the sender in each notice
            f"--cluster.listen-address=127.0.0.1:{gossip[i]}",
            f"--cluster.advertise-address=127.0.0.1:{gossip[i]}",
            *peers,
            *(f"--{flag}={value}" for flag, value, _ in GOSSIP_FLAGS),
            "--log.level=warn",
        ]
        child = start_child(argv, name=name, log=work / f"{name}.log")
        stack.callback(child.stop, 10)
        children.append(child)

    def formed() -> bool:
        for child in children:
            if not child.running():
                raise MonitorError(f"{child.name} exited: {tail(work / f'{child.name}.log')}")
        return all(alertmanager_peers(u) == len(urls) for u in urls)

    wait_for(formed, ready_seconds, "the Alertmanager pair to form")
