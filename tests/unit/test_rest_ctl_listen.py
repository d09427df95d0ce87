"""22.05's slurmrestd answers "slurmctld config is unable to load" alike for every controller
down and for a token Slurm refused (tests/fixtures/rest/22.05-*). With `readyz = true` the
monitor connects to each controller's SlurmctldPort itself: refused on every one is no
controller (down), as the CLI says; an accepted or timed out connect leaves it blind."""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

from monitor.config import ClusterConfig, MonitorSettings, Thresholds
from monitor.observation import Condition, Reason, State
from monitor.prober import ClusterProber
from monitor.probes.ctl_listen import Connect, ListenReport, PortAnswer
from monitor.rest.client import RestClient
from monitor.rest.settings import RestSettings
from monitor.verdict import evaluate
from tests.support.fakes import FakeClock
from tests.support.slurmrestd import FIXTURES, FakeSlurmrestd

REST = FIXTURES / "rest"


def _b64(doc: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).rstrip(b"=").decode()


TOKEN = f"{_b64({'alg': 'HS256'})}.{_b64({'exp': int(time.time()) + 3600, 'sun': 'root'})}.c2ln"


@pytest.fixture
def restd() -> Iterator[FakeSlurmrestd]:
    server = FakeSlurmrestd()
    server.behaviour.token = TOKEN
    server.behaviour.versions = ("v0.0.38",)
    yield server
    server.close()


@pytest.fixture
def listening() -> Iterator[int]:
    """A port where something listens (the kernel accepts, as for a frozen slurmctld)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield s.getsockname()[1]


def closed_port() -> int:
    """A port nothing listens on: the kernel refuses connections to it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(server: FakeSlurmrestd, situation: str) -> None:
    for endpoint in ("slurm-ping", "slurm-diag", "slurmdb-diag"):
        found = sorted(REST.glob(f"22.05-{situation}-{endpoint}.*.json")) or sorted(
            REST.glob(f"22.05-healthy-{endpoint}.*.json"))
        status = int(found[0].name.split(".")[-2])
        server.answer(endpoint.replace("-", "/"), status, found[0].read_text())


def observe(server: FakeSlurmrestd, tmp_path: Path, situation: str, ports: tuple[int, int],
            readyz: bool = True):
    """One round through the stand-in slurmrestd serving what 22.05's answered in
    `situation`, the controllers (ctl1, ctl2 from slurm.conf) at these local ports."""
    serve(server, situation)
    conf = tmp_path / "slurm.conf"
    conf.write_text("ClusterName=lab\nSlurmctldHost=ctl1\nSlurmctldHost=ctl2\n")
    client = RestClient(RestSettings((server.url,), token_env="JWT", timeout_seconds=2),
                        environ={"JWT": TOKEN})
    cluster = ClusterConfig(
        "lab", backend="rest", slurm_conf=conf, readyz=readyz, accounting=False,
        host_addresses={"ctl1": f"127.0.0.1:{ports[0]}", "ctl2": f"127.0.0.1:{ports[1]}"},
    )
    with ThreadPoolExecutor(4) as pool:
        prober = ClusterProber(cluster, MonitorSettings(), pool, clock=FakeClock(), rest=client,
                               local_host="monitor")
        rnd = prober.round(wait_slow=True)
    return rnd, evaluate(rnd, Thresholds())


def ctl_states(obs) -> dict[str, tuple[State, Reason | None]]:
    return {d.hostname: (d.state, d.reason) for d in obs.daemons if d.daemon == "slurmctld"}


def test_refused_on_every_controller_is_down_as_the_cli_says(restd, tmp_path):
    _, obs = observe(restd, tmp_path, "both-controllers-killed", (closed_port(), closed_port()))
    ctl = obs.services["slurmctld"]
    assert ctl.state is State.DOWN and ctl.condition is Condition.NO_CONTROLLER
    assert ctl.up is False and ctl.reason is Reason.UNREACHABLE
    assert ctl_states(obs) == {"ctl1": (State.DOWN, Reason.UNREACHABLE),
                               "ctl2": (State.DOWN, Reason.UNREACHABLE)}
    assert not obs.blind


def test_one_controller_accepting_proves_nothing(restd, tmp_path, listening):
    """A frozen primary still accepts (its kernel does): blind, as before."""
    _, obs = observe(restd, tmp_path, "both-controllers-killed", (listening, closed_port()))
    ctl = obs.services["slurmctld"]
    assert ctl.state is State.UNKNOWN and ctl.condition is Condition.BLIND
    assert {s for s, _ in ctl_states(obs).values()} == {State.UNKNOWN}


def test_a_refused_token_with_controllers_listening_stays_blind(restd, tmp_path, listening):
    """The same words for a token Slurm refused: slurmctld listens, so no outage. Blind
    with ping's cause ("does not say which"): a frozen primary looks the same from here."""
    _, obs = observe(restd, tmp_path, "token-expired", (listening, listening))
    ctl = obs.services["slurmctld"]
    assert ctl.state is State.UNKNOWN and ctl.condition is Condition.BLIND
    assert "does not say which" in next(e.message for e in obs.errors if e.probe == "ping")


def test_timeouts_prove_nothing(restd, tmp_path):
    """A host or link gone makes a connect time out: no evidence (the answers are put in
    the round as the probe reports them; a real timeout needs a host that drops SYNs)."""
    rnd, _ = observe(restd, tmp_path, "both-controllers-killed", (closed_port(), closed_port()))
    listen = rnd.results["ctl_listen"]
    for answers in (
        (PortAnswer("ctl1", "primary", Connect.TIMEOUT), PortAnswer("ctl2", "backup",
                                                                    Connect.TIMEOUT)),
        (PortAnswer("ctl1", "primary", Connect.REFUSED), PortAnswer("ctl2", "backup",
                                                                    Connect.TIMEOUT)),
        (PortAnswer("ctl1", "primary", Connect.REFUSED), PortAnswer("ctl2", "backup",
                                                                    Connect.FAILED)),
    ):
        results = {**rnd.results, "ctl_listen": replace(listen, data=ListenReport(answers))}
        obs = evaluate(replace(rnd, results=results), Thresholds())
        assert obs.services["slurmctld"].condition is Condition.BLIND, answers


def test_a_refusal_from_an_earlier_round_is_not_evidence(restd, tmp_path):
    rnd, _ = observe(restd, tmp_path, "both-controllers-killed", (closed_port(), closed_port()))
    ping = rnd.results["ping"]
    later = replace(ping, started_at=ping.started_at.replace(year=ping.started_at.year + 1))
    obs = evaluate(replace(rnd, results={**rnd.results, "ping": later}), Thresholds())
    assert obs.services["slurmctld"].condition is Condition.BLIND


def test_without_readyz_the_controllers_are_not_asked(restd, tmp_path):
    rnd, obs = observe(restd, tmp_path, "both-controllers-killed",
                       (closed_port(), closed_port()), readyz=False)
    assert "ctl_listen" not in rnd.results
    assert obs.services["slurmctld"].condition is Condition.BLIND


def test_not_asked_while_ping_answers(restd, tmp_path):
    """A bare connect makes slurmctld log a failed RPC: only after a ping with no answer."""
    rnd, obs = observe(restd, tmp_path, "healthy", (closed_port(), closed_port()))
    assert "ctl_listen" not in rnd.results
    assert obs.services["slurmctld"].state is State.UP
