"""`slurm-sla probe --json` against the real HA cluster, in every situation the lab makes,
on each Slurm release the lab runs (22.05, 24.11, 26.05): the verdict must read the same.

The monitor runs on the lab's client host (hub), as it would on a login node, with the
release's own client commands. Beside it, at the same moment, the same monitor with
`backend = "rest"` through the lab's real slurmrestd must give the same services, daemons
and serving controller (`probe_both`; tests/support/rest_lab.py).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from tests.support.rest_lab import (
    assert_same_view,
    probe_all,
    probe_until_same,
    rest_config,
    start_restd,
)

pytestmark = [pytest.mark.cluster, pytest.mark.slurm_versions("22.05", "24.11", "26.05")]

REPO = Path(__file__).resolve().parents[2]


def write_config(lab, tmp_path: Path, **cluster: object) -> Path:
    extra = "".join(f"{k} = {json.dumps(v)}\n" for k, v in cluster.items())
    path = tmp_path / "monitor.toml"
    path.write_text(
        "[monitor]\n"
        f'state_dir = "{tmp_path}/state"\n'
        "command_timeout_seconds = 5\n"
        "slow_command_timeout_seconds = 20\n"
        "[[clusters]]\n"
        'name = "lab"\n'
        f'slurm_conf = "{lab.slurm_conf}"\n'
        f'slurm_bin = "{lab.hub_bin_dir}"\nmunge_bin = "{lab.hub_bin_dir}"\n' + extra
    )
    return path


def probe(lab, config: Path) -> tuple[int, dict]:
    result = lab.run_client([sys.executable, "-m", "monitor", "probe", "--config", str(config),
                             "--json"], timeout=90)
    assert result.stdout, result.stderr
    doc = json.loads(result.stdout)
    assert len(doc["clusters"]) == 1
    return result.returncode, doc["clusters"][0]


def daemons(cluster: dict) -> dict[str, tuple[str, str | None]]:
    return {d["hostname"]: (d["state"], d["reason"]) for d in cluster["daemons"]}


@pytest.fixture
def config(lab, tmp_path):
    return write_config(lab, tmp_path)


@pytest.fixture
def rest(healthy_lab, tmp_path):
    """The same cluster through slurmrestd (started now, once per lab)."""
    start_restd(healthy_lab)
    return rest_config(healthy_lab, tmp_path / "rest")


def probe_both(lab, config: Path, rest: Path, differ=()) -> tuple[int, dict]:
    """The CLI probe and the REST probe at once; they must agree (but for `differ`)."""
    cli, through_rest = probe_all(lab, config, rest)
    assert_same_view(cli, through_rest, differ)
    return cli


def test_healthy(healthy_lab, config, rest):
    rc, c = probe_both(healthy_lab, config, rest)
    assert rc == 0, c
    d = daemons(c)
    assert d["ctl1"] == ("up", None) and d["ctl2"] == ("up", None)
    assert d["dbd1"] == ("up", None)
    assert d["dbd2"] == ("unknown", "standby")  # a standby slurmdbd does not listen
    ctl = c["services"]["slurmctld"]
    assert ctl["up"] is True and ctl["redundancy_ok"] is True
    assert ctl["active"] == {"hostname": "ctl1", "role": "primary"}
    assert c["services"]["slurmdbd"]["active"]["hostname"] == "dbd1"
    # 26.05 says who is in control (/readyz); before 25.11 only ping's order can
    assert ctl["active_source"] == ("readyz" if healthy_lab.slurm >= "25.11" else "ping")
    assert c["blind"] is False and c["errors"] == []
    assert c["statistics"]["server_thread_count"] >= 1
    assert c["slurm_version"] == healthy_lab.slurm_version


def test_primary_killed_before_and_after_takeover_and_back(healthy_lab, config, rest):
    lab = healthy_lab
    lab.kill("ctl1")
    rc, c = probe(lab, config)  # at once: the backup has not taken over yet
    assert daemons(c)["ctl1"] == ("down", "unreachable")
    assert c["services"]["slurmctld"]["up"] is True
    assert rc == 1
    lab.wait_serving("ctl2", timeout=30)
    rc, c = probe_both(lab, config, rest)
    assert rc == 1, c
    ctl = c["services"]["slurmctld"]
    assert ctl["condition"] == "failover" and ctl["redundancy_ok"] is False
    assert ctl["active"] == {"hostname": "ctl2", "role": "backup"}
    assert c["blind"] is False
    assert ctl["active_source"] == ("readyz" if lab.slurm >= "25.11" else "ping")
    # Failback, ~28 s on 24.11+ (the next test's heal would wait for it anyway). heal(),
    # not restore(): a 26.05 primary was seen to die in its failback and need a restart.
    lab.heal()
    rc, c = probe_until_same(lab, config, rest, timeout=20)
    assert c["services"]["slurmctld"]["active"] == {"hostname": "ctl1", "role": "primary"}


def test_backup_killed(healthy_lab, config, rest):
    healthy_lab.kill("ctl2")
    rc, c = probe_both(healthy_lab, config, rest)
    assert rc == 1
    assert daemons(c)["ctl2"] == ("down", "unreachable")
    ctl = c["services"]["slurmctld"]
    assert ctl["up"] and not ctl["redundancy_ok"] and ctl["active"]["hostname"] == "ctl1"


def test_both_controllers_killed(healthy_lab, config, rest):
    healthy_lab.kill("ctl1")
    healthy_lab.kill("ctl2")
    # 22.05's slurmrestd says the same for this as for a refused token; `readyz = true`
    # (rest_config): the monitor's own connects, refused on both controllers, tell.
    rc, c = probe_both(healthy_lab, config, rest)
    assert rc == 2
    assert daemons(c)["ctl1"] == ("down", "unreachable")
    assert daemons(c)["ctl2"] == ("down", "unreachable")
    ctl = c["services"]["slurmctld"]
    assert ctl["up"] is False and ctl["condition"] == "no_controller"
    assert c["blind"] is False
    # slurmdbd does not depend on slurmctld
    assert c["services"]["slurmdbd"]["up"] is True


def test_slurmdbd_primary_killed(healthy_lab, config, rest):
    lab = healthy_lab
    lab.kill("dbd1")
    lab.wait_dbd_serving("dbd2", timeout=30)
    rc, c = probe_both(lab, config, rest)
    assert rc == 1, c
    assert daemons(c)["dbd1"] == ("down", "unreachable")
    assert daemons(c)["dbd2"] == ("up", None)
    dbd = c["services"]["slurmdbd"]
    assert dbd["up"] and dbd["condition"] == "failover" and dbd["redundancy_ok"] is False


def test_both_slurmdbd_killed(healthy_lab, config):
    healthy_lab.kill("dbd1")
    healthy_lab.kill("dbd2")
    rc, c = probe(healthy_lab, config)
    assert rc == 2
    dbd = c["services"]["slurmdbd"]
    assert dbd["up"] is False and dbd["condition"] == "dbd_unreachable"
    assert daemons(c)["dbd1"] == ("down", "unreachable")
    assert daemons(c)["dbd2"] == ("down", "unreachable")
    assert c["services"]["slurmctld"]["up"] is True


def test_mariadb_down(healthy_lab, config, rest):
    healthy_lab.kill("db")
    deadline = time.monotonic() + 30
    while True:
        rc, c = probe(healthy_lab, config)
        if c["services"]["slurmdbd"]["condition"] == "database_unreachable" or \
                time.monotonic() > deadline:
            break
    assert rc == 2, c
    dbd = c["services"]["slurmdbd"]
    assert dbd["up"] is False and dbd["reason"] == "database"
    # slurmrestd says only that it could not open a slurmdbd connection ("Unable to
    # connect to database" whatever the cause): slurmdbd down, for another reason.
    probe_both(healthy_lab, config, rest,
               differ=[("slurmdbd", k) for k in ("condition", "reason", "active")])


def test_munge_down_is_blind_not_down(healthy_lab, config):
    healthy_lab.kill("munge")
    rc, c = probe(healthy_lab, config)
    assert rc == 3, c
    assert c["blind"] is True
    assert {d["state"] for d in c["daemons"]} == {"unknown"}
    assert "down" not in {s["state"] for s in c["services"].values()}
    assert any(e["reason"] == "auth" for e in c["errors"])
    assert any(e["probe"] == "munge" for e in c["errors"])  # the local munge check ran


def test_primary_unreachable_is_split_brain_protection(healthy_lab, config):
    healthy_lab.cut_link("ctl1")
    rc, c = probe(healthy_lab, config)
    assert rc == 2, c
    assert daemons(c)["ctl1"] == ("down", "unreachable")
    ctl = c["services"]["slurmctld"]
    assert ctl["condition"] == "split_brain_protection" and ctl["active"] is None
    assert daemons(c)["ctl2"] == ("up", "standby")


def test_local_process_check_on_the_controller_host(healthy_lab, tmp_path):
    """The monitor on ctl1 itself, with local_daemons: a vanished slurmctld process is
    `process_gone`, which no remote probe can tell apart from a network fault."""
    lab = healthy_lab
    config = write_config(lab, tmp_path, local_daemons=["slurmctld"])

    def probe_on_ctl1() -> dict:
        result = lab.run_on("ctl1", [sys.executable, "-m", "monitor", "probe", "--config",
                                     str(config), "--json"], timeout=90)
        return json.loads(result.stdout)["clusters"][0]

    c = probe_on_ctl1()
    assert daemons(c)["ctl1"] == ("up", None)
    assert daemons(c)["ctl2"] == ("up", None)
    lab.kill("ctl1")
    c = probe_on_ctl1()
    assert daemons(c)["ctl1"] == ("down", "process_gone")
    assert daemons(c)["ctl2"] == ("up", None)
