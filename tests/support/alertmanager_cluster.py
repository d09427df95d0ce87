"""A real Alertmanager cluster for tests: N peers of Debian's prometheus-alertmanager on
loopback, gossiping with each other (``--cluster.peer``), with short gossip timings so a
test sees the deduplication in seconds rather than the production minute."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.support.daemon import free_port
from tests.support.debian import ensure_packages
from tests.support.receiver import wait_until

# How long a peer at position k waits (k times this) for an earlier peer's notification
# to arrive through gossip before sending itself: the dedup window.
PEER_TIMEOUT_SECONDS = 2.0


@dataclass
class Peer:
    url: str
    cluster_port: int
    proc: subprocess.Popen


def alerts(url: str) -> list[dict]:
    return requests.get(f"{url}/api/v2/alerts", timeout=5).json()


def cluster_size(url: str) -> int:
    status = requests.get(f"{url}/api/v2/status", timeout=5).json()
    return len(status.get("cluster", {}).get("peers") or [])


@contextlib.contextmanager
def alertmanager_cluster(config: Path, workdir: Path, peers: int = 2) -> Iterator[list[str]]:
    """Start ``peers`` Alertmanagers on ``config``; yield their URLs once every one is
    ready and sees all the others."""
    ensure_packages("prometheus-alertmanager", binary="prometheus-alertmanager")
    ports = [(free_port(), free_port()) for _ in range(peers)]
    procs: list[subprocess.Popen] = []
    try:
        for i, (web, gossip) in enumerate(ports):
            others = [f"--cluster.peer=127.0.0.1:{g}" for j, (_, g) in enumerate(ports) if j != i]
            procs.append(
                subprocess.Popen(
                    [
                        "prometheus-alertmanager",
                        f"--config.file={config}",
                        f"--storage.path={workdir / f'am{i}'}",
                        f"--web.listen-address=127.0.0.1:{web}",
                        f"--cluster.listen-address=127.0.0.1:{gossip}",
                        "--cluster.advertise-address=" + f"127.0.0.1:{gossip}",
                        *others,
                        "--cluster.gossip-interval=100ms",
                        "--cluster.pushpull-interval=1s",
                        f"--cluster.peer-timeout={PEER_TIMEOUT_SECONDS:g}s",
                        "--cluster.settle-timeout=5s",
                        "--log.level=warn",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
            )
        urls = [f"http://127.0.0.1:{web}" for web, _ in ports]

        def formed() -> bool:
            for proc in procs:
                assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            with contextlib.suppress(requests.RequestException, ValueError):
                return all(
                    requests.get(f"{u}/-/ready", timeout=1).status_code == 200
                    and cluster_size(u) == peers
                    for u in urls
                )
            return False

        wait_until(formed, 30, "the Alertmanager cluster formed")
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
