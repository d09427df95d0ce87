"""The slurmrestd backend against a stand-in slurmrestd on loopback (real HTTP, JSON
recorded from real Slurm): versions, the token, URLs in order, and blind is never down."""

from __future__ import annotations

import json
import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from monitor.config import ClusterConfig, MonitorSettings, Thresholds
from monitor.observation import Condition, Reason, State
from monitor.prober import ClusterProber
from monitor.rest.client import RestClient
from monitor.rest.settings import RestSettings
from monitor.verdict import evaluate
from tests.support.fakes import FakeClock
from tests.support.slurmrestd import FakeSlurmrestd, recorded_json

PING_2411 = recorded_json("ping", "24.11-both-up.json")
DIAG_2411 = recorded_json("sdiag", "24.11-steady.json")
NO_CONTROLLER = json.dumps(
    {"errors": [{"description": "Unable to contact slurm controller (connect failure)"}]}
)


@pytest.fixture
def restd():
    server = FakeSlurmrestd()
    server.answer("slurm/ping", 200, PING_2411)
    server.answer("slurm/diag", 200, DIAG_2411)
    yield server
    server.close()


def dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"  # closed again: refused


def client(*urls: str, token_file: Path | None = None, token: str = "good-token") -> RestClient:
    if token_file is not None:
        return RestClient(RestSettings(urls, token_file=token_file, timeout_seconds=2))
    settings = RestSettings(urls, token_env="SLURM_JWT", timeout_seconds=2)
    return RestClient(settings, environ={"SLURM_JWT": token})


def test_the_newest_version_both_know_is_used(restd):
    restd.behaviour.versions = ("v0.0.40", "v0.0.42", "v0.0.99")  # 99: not known to us
    answer = client(restd.url).get("slurm", "ping")
    assert answer.ok and answer.url.endswith("/slurm/v0.0.42/ping")


def test_without_an_openapi_document_versions_are_tried_newest_first(restd):
    restd.behaviour.openapi = False
    restd.behaviour.versions = ("v0.0.41",)
    answer = client(restd.url).get("slurm", "ping")
    assert answer.ok and answer.url.endswith("/slurm/v0.0.41/ping")


def test_a_rejected_token_is_blindness_named_as_such(restd):
    answer = client(restd.url, token="expired").get("slurm", "ping")
    assert answer.reason is Reason.AUTH and "rejected the token (HTTP 401)" in answer.message


def test_the_token_file_is_read_again_when_it_changes(restd, tmp_path):
    token = tmp_path / "token"
    token.write_text("SLURM_JWT=expired\n")
    c = client(restd.url, token_file=token)
    assert c.get("slurm", "ping").reason is Reason.AUTH
    token.write_text("SLURM_JWT=good-token\n")  # rotated, as `scontrol token` prints it
    assert c.get("slurm", "ping").ok


def test_a_missing_token_file_is_named(tmp_path, restd):
    answer = client(restd.url, token_file=tmp_path / "nope").get("slurm", "ping")
    assert answer.reason is Reason.AUTH and "nope" in answer.message


def test_urls_are_tried_in_order_and_the_answering_one_kept(restd):
    c = client(dead_url(), restd.url)
    assert c.get("slurm", "ping").ok
    before = len(restd.behaviour.requests)
    assert c.get("slurm", "ping").ok
    assert len(restd.behaviour.requests) == before + 1  # straight to the one that answered


def test_no_slurmrestd_answering_is_blind_and_says_unreachable():
    answer = client(dead_url(), dead_url()).get("slurm", "ping")
    assert answer.reason is Reason.COMMAND_FAILED
    assert answer.message.startswith("slurmrestd unreachable")


def test_slurms_own_error_from_a_reachable_slurmrestd_is_evidence(restd):
    restd.answer("slurm/diag", 500, NO_CONTROLLER)
    answer = client(restd.url).get("slurm", "diag")
    assert answer.reason is Reason.UNREACHABLE  # the controllers, not slurmrestd


def test_a_server_error_without_slurms_word_is_blind(restd):
    restd.answer("slurm/diag", 502, "<html>Bad Gateway</html>")
    assert client(restd.url).get("slurm", "diag").reason is Reason.COMMAND_FAILED
    restd.answer("slurm/diag", 200, "not json")
    assert client(restd.url).get("slurm", "diag").reason is Reason.PARSE


# --- through the prober and the verdict -------------------------------------------------


def observe(c: RestClient):
    cluster = ClusterConfig("prod", accounting=False)
    with ThreadPoolExecutor(4) as pool:
        prober = ClusterProber(
            cluster, MonitorSettings(), pool, clock=FakeClock(), rest=c, local_host="monitor"
        )
        return evaluate(prober.round(wait_slow=True), Thresholds())


def test_a_healthy_cluster_through_rest(restd):
    obs = observe(client(restd.url))
    ctl = obs.services["slurmctld"]
    assert ctl.state is State.UP and ctl.active.hostname == "ctl1"
    assert not obs.blind and obs.statistics is not None
    assert obs.slurm_version is None  # no show config through slurmrestd


@pytest.mark.parametrize("case", ["token", "down"])
def test_rest_blindness_is_never_down(restd, case):
    c = client(restd.url, token="expired") if case == "token" else client(dead_url())
    obs = observe(c)
    ctl = obs.services["slurmctld"]
    assert ctl.state is State.UNKNOWN and ctl.condition is Condition.BLIND
    assert all(d.state is State.UNKNOWN for d in obs.daemons)
    assert obs.errors and (
        "token" in obs.errors[0].message or "unreachable" in obs.errors[0].message
    )
