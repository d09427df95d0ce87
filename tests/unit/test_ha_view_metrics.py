"""The peer-view gate's metrics (issue 17): each peer's view age and failed requests, and
the Down-class alerts withheld now."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from exporters.collectors.ha_views import PeerViewCollector
from monitor.alerting.rules import evaluate
from monitor.alerting.settings import AlertSettings
from monitor.config import Thresholds
from monitor.ha.gate import GateParams
from monitor.ha.peer_gate import PeerGate
from monitor.ha.peer_views import PeerViews
from monitor.ha.view import build_view, to_json
from monitor.snapshot import Snapshot
from tests.support.alerting import T0, status
from tests.support.peer_sights import CUT_OFF, sight


def test_ages_failures_and_what_is_withheld():
    clock = [50.0]
    body = to_json(build_view("b", Snapshot(T0, T0, (status(),)), {("prod", "slurmctld"): 0.5}))

    def fetch(url, credentials, timeout):
        if url.endswith("dead"):
            raise OSError("refused")
        return body

    views = PeerViews(lambda: ["http://b", "http://dead"], lambda: 1.0, timeout=lambda: 1.0,
                      fetch=fetch, monotonic=lambda: clock[0])  # fmt: skip
    views.start()
    views.stop()
    clock[0] += 3.0
    gate = PeerGate(lambda: GateParams("a", 5.0, 10.0), lambda cluster: [sight()])
    ev = evaluate(CUT_OFF, (), AlertSettings(), Thresholds(), T0)
    gate(ev, CUT_OFF, AlertSettings(), Thresholds(), T0)
    registry = CollectorRegistry()
    registry.register(PeerViewCollector(views, gate))
    text = generate_latest(registry).decode()
    assert 'slurm_sla_monitor_peer_view_age_seconds{peer="http://b"} 3.0' in text
    assert 'slurm_sla_monitor_peer_view_failures_total{peer="http://dead"} 1.0' in text
    assert 'slurm_sla_monitor_alert_withheld{alertname="SlurmctldDown",cluster="prod"} 1.0' in text
    assert "http://dead" not in text.split("peer_view_age_seconds gauge")[1].split("# HELP")[0]
