"""The /readyz probe (Slurm 25.11+) against real HTTP listeners on loopback, and what the
verdict makes of its answers: the 204 answerer serves; no 204 leaves the ping rule."""

from __future__ import annotations

import http.server
import socket
import threading

import pytest

from monitor.config import ClusterConfig, Thresholds
from monitor.observation import Condition
from monitor.parsers.ping import Ping, PingReport
from monitor.probes.base import ProbeResult, ProbeTarget
from monitor.probes.readyz import ReadyAnswer, ReadyReport, probe_readyz
from monitor.topology import Topology
from monitor.verdict import ProbeRound, evaluate
from tests.support.fakes import T0, FakeClock


class _Ready(http.server.BaseHTTPRequestHandler):
    status = 204

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(self.status if self.path == "/readyz" else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:  # quiet
        pass


def serve(status: int):
    handler = type("Handler", (_Ready,), {"status": status})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def controllers():
    in_control, standby = serve(204), serve(500)
    silent = socket.socket()  # accepts the connection (backlog), never answers: frozen
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    closed = socket.socket()  # bound, not listening: refused
    closed.bind(("127.0.0.1", 0))
    ports = {
        "in_control": in_control.server_address[1],
        "standby": standby.server_address[1],
        "frozen": silent.getsockname()[1],
        "dead": closed.getsockname()[1],
    }
    yield ports
    for s in (in_control, standby):
        s.shutdown()
        s.server_close()
    silent.close()
    closed.close()


def probe(ports: dict[str, int], primary: str, backup: str) -> ReadyReport:
    cluster = ClusterConfig(
        "lab",
        host_addresses={
            "ctl1": f"127.0.0.1:{ports[primary]}",
            "ctl2": f"127.0.0.1:{ports[backup]}",
        },
    )
    endpoints = (("primary", "ctl1", 6817), ("backup", "ctl2", 6817))
    result = probe_readyz(ProbeTarget(cluster, ctl_endpoints=endpoints), 0.5, FakeClock())
    assert result.ok, result.message
    return result.data


def test_each_answer_is_kept_as_it_came(controllers):
    report = probe(controllers, "standby", "in_control")
    assert [(a.hostname, a.status) for a in report.answers] == [("ctl1", 500), ("ctl2", 204)]
    assert [a.hostname for a in report.in_control] == ["ctl2"]


def test_a_frozen_and_a_dead_controller_give_no_http_answer(controllers):
    report = probe(controllers, "frozen", "dead")
    assert [(a.status, a.error) for a in report.answers][0] == (None, "timeout")
    assert report.answers[1].status is None and report.answers[1].error
    assert not report.answered and not report.in_control


def test_no_controllers_known_yet_is_a_failed_probe_not_an_answer():
    result = probe_readyz(ProbeTarget(ClusterConfig("lab")), 0.5, FakeClock())
    assert not result.ok and result.data is None


# --- the verdict ----------------------------------------------------------------------

TOPOLOGY = Topology("lab", (("ctl1", "primary"), ("ctl2", "backup")))


def ready(primary: int | None, backup: int | None) -> ProbeResult:
    answers = (ReadyAnswer("ctl1", "primary", primary), ReadyAnswer("ctl2", "backup", backup))
    return ProbeResult("readyz", T0, 0.01, ReadyReport(answers))


def ping(primary: bool, backup: bool) -> ProbeResult:
    report = PingReport((Ping("ctl1", "primary", primary), Ping("ctl2", "backup", backup)))
    return ProbeResult("ping", T0, 0.01, report)


def ctl(*results: ProbeResult):
    rnd = ProbeRound(ClusterConfig("lab"), T0, {r.probe: r for r in results}, TOPOLOGY)
    return evaluate(rnd, Thresholds()).services["slurmctld"]


def test_a_failback_under_way_is_still_served_by_the_backup():
    """Both answer ping, the primary first; only /readyz says the backup still serves."""
    svc = ctl(ping(True, True), ready(500, 204))
    assert svc.active.hostname == "ctl2" and svc.condition is Condition.FAILOVER


def test_without_a_204_the_ping_rule_decides_as_on_every_release():
    frozen = ctl(ping(False, True), ready(None, 500))  # takeover not done yet
    assert frozen == ctl(ping(False, True))
    firewall = ctl(ping(True, True), ready(None, None))
    assert firewall == ctl(ping(True, True))
    assert firewall.active.hostname == "ctl1" and firewall.condition is Condition.OK


def test_a_204_from_a_controller_ping_cannot_reach_is_not_believed():
    svc = ctl(ping(True, False), ready(500, 204))
    assert svc.active.hostname == "ctl1"
