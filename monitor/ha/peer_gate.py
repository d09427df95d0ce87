"""The gate (monitor.ha.gate) as the alert engine calls it each round: the peers' views
from :class:`PeerViews`, the gate's memory per cluster, the parameters from the live
config, and a log line each time a Down-class alert starts or stops being withheld."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

import structlog

from monitor.alerting.rules import Evaluation
from monitor.alerting.settings import AlertSettings
from monitor.config import Thresholds
from monitor.ha.gate import Contradiction, GateParams, PeerSight, gate
from monitor.snapshot import ClusterStatus

log = structlog.get_logger("slurm_sla_monitor")


class PeerGate:
    def __init__(
        self,
        params: Callable[[], GateParams],
        sights: Callable[[str], list[PeerSight]],
    ) -> None:
        self._params, self._sights = params, sights
        self._lock = threading.Lock()
        self._since: dict[str, dict[str, dt.datetime]] = {}  # cluster -> service -> since
        self._withheld: dict[str, set[tuple[str, str]]] = {}  # cluster -> (alert, instance)

    def __call__(
        self,
        ev: Evaluation,
        status: ClusterStatus,
        settings: AlertSettings,
        thresholds: Thresholds,
        now: dt.datetime,
    ) -> Evaluation:
        try:
            sights = self._sights(status.name)
        except Exception:  # noqa: BLE001 - no peer view: page as if alone
            log.exception("ha.view_read_failed", cluster=status.name)
            sights = []
        with self._lock:
            result = gate(
                ev, status, sights, self._since.get(status.name, {}), now, self._params(),
                settings, thresholds,
            )  # fmt: skip
            self._since[status.name] = dict(result.since)
            self._log_changes(status.name, result.withheld)
        return result.evaluation

    def withheld_now(self) -> set[tuple[str, str]]:
        """(cluster, alertname) of every alert withheld at its cluster's last round."""
        with self._lock:
            return {(c, a) for c, keys in self._withheld.items() for a, _ in keys}

    def _log_changes(self, cluster: str, withheld: tuple[Contradiction, ...]) -> None:
        now = {(w.alertname, w.instance): w for w in withheld}
        before = self._withheld.get(cluster, set())
        for key, w in now.items():
            if key not in before:
                log.warning(
                    "ha.page_withheld",
                    cluster=cluster,
                    alertname=w.alertname,
                    instance=w.instance,
                    peer=w.peer,
                    peer_view_age_s=round(w.peer_age, 1),
                )
        for alertname, instance in before - set(now):
            log.info("ha.page_released", cluster=cluster, alertname=alertname, instance=instance)
        self._withheld[cluster] = set(now)
