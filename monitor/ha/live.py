"""The peer-view gate's parts, assembled for the daemon in HA mode: this replica's page
(``/ha/view``), the thread that reads its peers' pages, and the gate the alert engine
calls. The live config is read at each use, so a reload applies.

Timing, from ``[monitor]``: peers are asked twice per interval; a view older than two
intervals plus the jitter (a healthy peer's, at its oldest, is one interval plus jitter
plus a round, plus half an interval since it was asked) contradicts nothing; a
contradiction lasting two such lifetimes raises SlurmMonitorBlind, so the seconds in which
two replicas disagree at the edges of a real outage page nobody.
"""

from __future__ import annotations

from collections.abc import Callable

from monitor.config import Config
from monitor.ha.gate import GateParams
from monitor.ha.peer_gate import PeerGate
from monitor.ha.peer_views import Credentials, PeerViews
from monitor.ha.view import LaneAges, ViewPage
from monitor.snapshot import Snapshot

VIEW_TIMEOUT_SECONDS = 2.0  # per request; a peer slower than that is as good as silent


def view_max_age(config: Config) -> float:
    m = config.monitor
    return 2 * m.interval_seconds + m.jitter_seconds


def gate_params(config: Config) -> GateParams:
    replica = config.ha.replica if config.ha else ""
    age = view_max_age(config)
    return GateParams(replica, max_age=age, blind_after=2 * age)


class HaLive:
    def __init__(
        self,
        config: Callable[[], Config],
        snapshot: Callable[[], Snapshot],
        lane_ages: LaneAges,
        credentials: Credentials,
    ) -> None:
        def peers() -> tuple[str, ...]:
            ha = config().ha
            return ha.peers if ha else ()

        self.views = PeerViews(
            peers,
            lambda: config().monitor.interval_seconds / 2,
            timeout=lambda: min(VIEW_TIMEOUT_SECONDS, config().monitor.interval_seconds),
            credentials=credentials,
        )
        self.gate = PeerGate(lambda: gate_params(config()), self.views.sights)
        replica = lambda: config().ha.replica if config().ha else ""  # noqa: E731
        self.page = ViewPage(replica, snapshot, lane_ages)

    def start(self) -> None:
        self.views.start()

    def stop(self) -> None:
        self.views.stop()
