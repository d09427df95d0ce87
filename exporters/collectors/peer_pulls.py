"""How the HA ledger exchange goes (monitor.ledger.peers.PeerPuller), HA mode only: per peer
URL, whether the last pull of its ledger worked and when one last did.

    slurm_sla_monitor_peer_pull_last_successful{peer="https://mon-b:9817"} 1
    slurm_sla_monitor_peer_pull_last_success_timestamp_seconds{peer="https://mon-b:9817"} 1.7e9

A pull that keeps failing leaves the merged report without the peer's recent records (the
report then counts only this replica's view of that time): alert on the age, not the flag."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from prometheus_client.core import GaugeMetricFamily, Metric

from monitor.ledger.peers import PullStatus


class PeerPullCollector:
    def __init__(self, status: Callable[[], Sequence[PullStatus]]) -> None:
        self._status = status

    def collect(self) -> Iterator[Metric]:
        rows = self._status()
        ok = GaugeMetricFamily(
            "slurm_sla_monitor_peer_pull_last_successful",
            "1 if the last pull of this HA peer's ledger records worked, else 0.",
            labels=["peer"],
        )
        when = GaugeMetricFamily(
            "slurm_sla_monitor_peer_pull_last_success_timestamp_seconds",
            "When a pull of this HA peer's ledger records last worked (absent before one did).",
            labels=["peer"],
        )
        for row in rows:
            ok.add_metric([row.url], 1.0 if row.ok else 0.0)
            if row.last_success is not None:
                when.add_metric([row.url], row.last_success)
        yield ok
        yield when
