"""The REST backend on what the real slurmrestd answered in the lab (tests/fixtures/rest/,
`<series>-<situation>-<api>-<endpoint>.<HTTP status>.json`), served by the stand-in: 22.05's
v0.0.38 shapes, and a refused token, which the real slurmrestd passes on to Slurm and
answers with Slurm's words, never with 401."""

from __future__ import annotations

import base64
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from monitor.config import ClusterConfig, MonitorSettings, Thresholds
from monitor.observation import Condition, Reason, State
from monitor.prober import ClusterProber
from monitor.rest.client import RestClient
from monitor.rest.settings import RestSettings
from monitor.rest.token import expired, token_user
from monitor.verdict import evaluate
from tests.support.fakes import FakeClock
from tests.support.slurmrestd import FIXTURES, FakeSlurmrestd

REST = FIXTURES / "rest"
ENDPOINTS = ("slurm-ping", "slurm-diag", "slurmdb-diag", "slurmdb-ping")


def jwt(user: str = "root", exp: float | None = None) -> str:
    def b64(doc: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(doc).encode()).rstrip(b"=").decode()

    exp = time.time() + 3600 if exp is None else exp
    return f"{b64({'alg': 'HS256'})}.{b64({'exp': int(exp), 'sun': user})}.c2lnbmF0dXJl"


TOKEN = jwt()


def serve(server: FakeSlurmrestd, series: str, situation: str) -> None:
    """Every recorded answer of `series`-`situation`; others from the healthy recording."""
    for endpoint in ENDPOINTS:
        found = sorted(REST.glob(f"{series}-{situation}-{endpoint}.*.json")) or sorted(
            REST.glob(f"{series}-healthy-{endpoint}.*.json"))
        if series == "24.11" and endpoint == "slurmdb-diag":
            continue  # 24.11 has slurmdbd's ping
        if found:
            status = int(found[0].name.split(".")[-2])
            server.answer(endpoint.replace("-", "/"), status, found[0].read_text())


@pytest.fixture
def restd():
    server = FakeSlurmrestd()
    server.behaviour.token = TOKEN
    yield server
    server.close()


def observe(server: FakeSlurmrestd, series: str, situation: str, rounds: int = 1):
    server.behaviour.versions = {"22.05": ("v0.0.38",), "24.11": ("v0.0.42",)}.get(
        series, ("v0.0.45",))
    serve(server, series, situation)
    client = RestClient(RestSettings((server.url,), token_env="JWT", timeout_seconds=2),
                        environ={"JWT": TOKEN})
    cluster = ClusterConfig("lab", backend="rest")
    with ThreadPoolExecutor(4) as pool:
        prober = ClusterProber(cluster, MonitorSettings(), pool, clock=FakeClock(), rest=client,
                               local_host="monitor")
        for _ in range(rounds - 1):
            prober.round(wait_slow=True)
        return evaluate(prober.round(wait_slow=True), Thresholds())


def test_22_05_healthy_v0_0_38_answers_are_read(restd):
    obs = observe(restd, "22.05", "healthy")
    ctl, dbd = obs.services["slurmctld"], obs.services["slurmdbd"]
    assert ctl.state is State.UP and ctl.active.hostname == "ctl1" and ctl.redundancy_ok
    assert dbd.state is State.UP
    assert obs.errors == () and not obs.blind
    assert obs.statistics["server_thread_count"] == 3
    assert "bf_last_depth" not in obs.statistics  # v0.0.38 has none: absent, never 0


def test_the_user_is_named_from_the_token_as_22_05_requires(restd):
    observe(restd, "22.05", "healthy")
    users = {headers.get("X-SLURM-USER-NAME") for _, headers in restd.behaviour.requests}
    assert users == {"root"}


def test_22_05_primary_down_is_seen(restd):
    obs = observe(restd, "22.05", "primary-killed")
    states = {d.hostname: (d.state, d.reason) for d in obs.daemons}
    assert states["ctl1"] == (State.DOWN, Reason.UNREACHABLE)
    assert obs.services["slurmctld"].active.hostname == "ctl2"


def test_22_05_a_refused_token_reads_as_no_controller_and_stays_blind(restd):
    """22.05 answers a token Slurm refused exactly as it answers "no controller"."""
    for situation in ("token-expired", "both-controllers-killed"):
        obs = observe(restd, "22.05", situation)
        ctl = obs.services["slurmctld"]
        assert ctl.state is State.UNKNOWN and ctl.condition is Condition.BLIND, situation
        assert "does not say which" in next(e.message for e in obs.errors if e.probe == "ping")
        assert all(d.state is State.UNKNOWN for d in obs.daemons if d.daemon == "slurmctld")
    # and slurmdbd's "Database connection reference is invalid" with it is no outage
    obs = observe(restd, "22.05", "token-expired")
    assert obs.services["slurmdbd"].state is State.UNKNOWN


def test_22_05_slurmdbd_gone_with_a_working_token_is_down(restd):
    for situation in ("both-slurmdbd-killed", "mariadb-down"):
        dbd = observe(restd, "22.05", situation).services["slurmdbd"]
        assert dbd.state is State.DOWN and dbd.condition is Condition.DBD_UNREACHABLE


def test_22_05_a_user_without_rights_leaves_slurmdbd_unseen(restd):
    obs = observe(restd, "22.05", "user-without-rights")
    assert obs.services["slurmctld"].state is State.UP
    dbd = obs.services["slurmdbd"]
    assert dbd.condition is Condition.BLIND and dbd.reason is Reason.AUTH
    assert any("Access/permission denied" in e.message for e in obs.errors)


@pytest.mark.parametrize("series", ["24.11", "26.05"])
def test_a_forged_token_is_blind_everywhere_never_down(restd, series):
    """26.05 says so in each ping's status; 24.11's ping says only DOWN, DOWN (as with no
    controller): its diag's HTTP 511 "Protocol authentication error" tells them apart."""
    obs = observe(restd, series, "token-forged", rounds=2)
    for service in obs.services.values():
        assert service.condition is Condition.BLIND and service.reason is Reason.AUTH
    assert all(d.state is State.UNKNOWN for d in obs.daemons)
    assert obs.blind
    assert any("rejected the token" in e.message for e in obs.errors)


def test_26_05_a_diag_refused_in_the_first_round_is_not_kept(restd):
    """The first round (release unknown) asks slurmdbd's diag too; once 26.05 is known,
    its ping replaces it, and a refused diag no longer speaks."""
    restd.answer("slurmdb/diag", 422, json.dumps({"errors": [{
        "description": "stats query failed", "error": "Access/permission denied"}]}))
    server = restd
    server.behaviour.versions = ("v0.0.45",)
    serve(server, "26.05", "healthy")
    client = RestClient(RestSettings((server.url,), token_env="JWT", timeout_seconds=2),
                        environ={"JWT": TOKEN})
    with ThreadPoolExecutor(4) as pool:
        prober = ClusterProber(ClusterConfig("lab", backend="rest"), MonitorSettings(), pool,
                               clock=FakeClock(), rest=client, local_host="monitor")
        first = evaluate(prober.round(wait_slow=True), Thresholds())
        second = evaluate(prober.round(wait_slow=True), Thresholds())
    assert any(e.probe == "dbd_stats" for e in first.errors)
    assert second.errors == () and not second.blind
    assert second.services["slurmdbd"].state is State.UP


def test_an_expired_token_is_named_before_asking(restd):
    restd.behaviour.token = stale = jwt(exp=time.time() - 5)
    client = RestClient(RestSettings((restd.url,), token_env="JWT", timeout_seconds=2),
                        environ={"JWT": stale})
    answer = client.get("slurm", "ping")
    assert answer.reason is Reason.AUTH and answer.message.startswith("token expired at")
    assert restd.behaviour.requests == []


def test_token_claims():
    assert token_user(jwt("alice")) == "alice"
    assert token_user("not-a-jwt") is None
    assert expired(jwt(exp=100), now=101).startswith("token expired at 1970-01-01T00:01:40Z")
    assert expired(jwt(exp=100), now=99) == ""
    assert expired("not-a-jwt", now=0) == ""


def test_every_recording_is_a_json_object():
    files = sorted(Path(REST).glob("*.json"))
    assert len(files) >= 19
    for f in files:
        assert isinstance(json.loads(f.read_text()), dict), f.name
