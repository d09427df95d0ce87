"""The REST backend against the lab's real slurmrestd (JWT from `scontrol token`), on each
release the lab runs: what only slurmrestd can break (it stopped, a refused token, a user
without rights, a pair with one member down), a frozen primary seen through both backends,
and, once, the daemon paging SlurmMonitorBlind (never an outage) while slurmrestd is down.

The CLI matrix's faults (failover, failback, both controllers down, slurmdbd failover,
MariaDB down) are compared in test_probe_cluster.py, beside the CLI probe of each case.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest

from tests.support.rest_lab import (
    CANNOT_TELL,
    RestHubStack,
    assert_blind_where_cli_sees,
    assert_same_view,
    cli_config,
    probe_all,
    rest_config,
    root_token,
    start_restd,
)

pytestmark = [pytest.mark.cluster, pytest.mark.slurm_versions("22.05", "24.11", "26.05")]


@pytest.fixture
def rest_lab(healthy_lab):
    start_restd(healthy_lab)
    return healthy_lab


def token_expiry(path) -> int:
    payload = path.read_text().strip().split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["exp"]


def forged_token(path, user: str = "root") -> None:
    """A well-formed token for `user` signed with a key that is not the cluster's."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    now = int(time.time())
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps({"exp": now + 3600, "iat": now, "sun": user}).encode())
    sig = hmac.new(b"not the lab's key, 32 bytes long", f"{head}.{body}".encode(), hashlib.sha256)
    path.write_text(f"{head}.{body}.{b64(sig.digest())}\n")


def blind_everywhere(cluster: dict, reason: str) -> None:
    """Every service and daemon unknown for `reason`; nothing down."""
    for name, service in cluster["services"].items():
        assert service["condition"] == "blind" and service["reason"] == reason, (name, service)
        assert service["up"] is None
    assert {d["state"] for d in cluster["daemons"]} == {"unknown"}


def test_slurmrestd_faults_are_blindness_never_an_outage(rest_lab, tmp_path):
    lab = rest_lab
    # Expired by the time it is used: scontrol's shortest lifespan, then waited out below.
    expired = lab.restd.write_token(tmp_path / "expired.jwt", user="root", lifespan=1)
    # A user slurmctld knows (in /etc/passwd) but slurmdbd does not (not in the accounts).
    no_rights = lab.restd.write_token(tmp_path / "slurm.jwt", user="slurm")
    forged_token(tmp_path / "forged.jwt")
    cli = cli_config(lab, tmp_path)
    pair = rest_config(lab, tmp_path)
    configs = {
        "expired": rest_config(lab, tmp_path, expired, name="expired.toml"),
        "forged": rest_config(lab, tmp_path, tmp_path / "forged.jwt", name="forged.toml"),
        "no_rights": rest_config(lab, tmp_path, no_rights, name="no-rights.toml"),
        "first_only": rest_config(lab, tmp_path, urls=[lab.restd.url(0)], name="first.toml"),
    }
    lab.restd.stop(0)  # the pair's first member
    while time.time() <= token_expiry(expired) + 1:  # Slurm compares whole seconds
        time.sleep(0.2)
    results = dict(zip(["cli", "pair", *configs],
                       probe_all(lab, cli, pair, *configs.values()), strict=True))

    # A pair with one member down: the other answers, nothing is blind.
    assert_same_view(results["cli"], results["pair"])
    assert results["pair"][1]["errors"] == []
    # The one member down alone: blind, and the reason names slurmrestd.
    rc, c = results["first_only"]
    assert rc == 3, c
    blind_everywhere(c, "command_failed")
    assert all("slurmrestd unreachable" in e["message"] for e in c["errors"]), c["errors"]
    # An expired token: the monitor reads its expiry itself and does not ask.
    rc, c = results["expired"]
    assert rc == 3, c
    blind_everywhere(c, "auth")
    assert all(e["message"].startswith("token expired at") for e in c["errors"]), c["errors"]
    # A forged one: slurmrestd passes it on and Slurm refuses it. 24.11+ say so; 22.05
    # answers as it does when no controller answers: blind all the same, never down.
    rc, c = results["forged"]
    assert rc == 3, c
    if lab.slurm == "22.05":
        blind_everywhere(c, "command_failed")
        assert any(CANNOT_TELL in e["message"] for e in c["errors"]), c["errors"]
    else:
        blind_everywhere(c, "auth")
        assert c["blind"] is True
        assert any("rejected the token" in e["message"] for e in c["errors"]), c["errors"]
    # A user without rights in slurmdbd: slurmctld is seen in full; slurmdbd's statistics
    # are refused ("Access/permission denied"). Before 24.11 they are the only slurmdbd
    # probe there is, so slurmdbd is blind; from 24.11 its ping (allowed) says it all.
    rc, c = results["no_rights"]
    cli_view = results["cli"][1]
    assert c["services"]["slurmctld"] == cli_view["services"]["slurmctld"]
    if lab.slurm < "24.11":
        assert rc == 3, c
        assert c["services"]["slurmdbd"]["condition"] == "blind"
        assert c["services"]["slurmdbd"]["reason"] == "auth"
        assert any("Access/permission denied" in e["message"] for e in c["errors"]), c["errors"]
    else:
        assert_same_view(results["cli"], results["no_rights"])
        assert c["errors"] == []

    lab.restd.stop(1)  # both members down: blind, never down
    (cli_rc, _), (rc, c) = probe_all(lab, cli, pair)
    assert cli_rc == 0 and rc == 3, c
    blind_everywhere(c, "command_failed")
    assert all("slurmrestd unreachable" in e["message"] for e in c["errors"]), c["errors"]


# 24.11 passed this too (2026-11-30) but behaves as 26.05 here, and costs ~50 s of CI on
# each newer release (a 20 s probe, then the failback its backup's takeover brings).
@pytest.mark.slurm_versions("22.05", "26.05")
def test_frozen_primary_reads_the_same_through_both(rest_lab, tmp_path):
    lab = rest_lab
    cli, rest = cli_config(lab, tmp_path), rest_config(lab, tmp_path)
    lab.freeze("ctl1")
    results = probe_all(lab, cli, rest)
    assert {d["hostname"]: d["state"] for d in results[0][1]["daemons"]}["ctl1"] == "down"
    if lab.slurm == "22.05":
        # Its slurmrestd loads the config from the (frozen) primary first and gives up
        # with `slurmctld config is unable to load`: blind, never down.
        assert_blind_where_cli_sees(*results)
    else:
        assert_same_view(*results)
    # Undone before the backup takes over (21-25 s after the freeze on 24.11+): a primary
    # restarted in time keeps control, without the ~28 s failback a thaw would cost there.
    lab.kill("ctl1")
    lab.restore("ctl1")


@pytest.mark.slurm_versions("22.05")
def test_daemon_pages_blind_while_slurmrestd_is_down(rest_lab, tmp_path):
    """The daemon with backend rest, shipped alert defaults but a 2 s interval: slurmrestd
    stopped fires SlurmMonitorBlind (and no outage alert); started again, it resolves."""
    lab = rest_lab
    stack = RestHubStack(lab, tmp_path, root_token(lab))
    try:
        stack.daemon.wait_ready(60)
        stack.wait_rounds(2)
        assert stack.firing_now() == {}
        t0 = time.time()
        lab.restd.stop_all()
        stack.wait_firing({"SlurmMonitorBlind"}, t0, timeout=40)
        lab.restd.start_all()
        stack.wait_all_resolved(timeout=40)
        names = {n.alertname for n in stack.notices()}
        assert names == {"SlurmMonitorBlind"}, names
        blind = [n for n in stack.notices() if n.alertname == "SlurmMonitorBlind"]
        assert "slurmrestd unreachable" in blind[0].payload["annotations"]["description"]
    finally:
        stack.close()
