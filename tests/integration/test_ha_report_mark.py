"""The pair's monthly report is mailed once even when its sender comes back late (issue 17):
with the sender (replica a) unreachable, replica b mails the report and leaves its mark, a
silence, on a real two-peer Alertmanager cluster; gossip takes it to the other peer; a's
timer catching up later finds it there and does not mail the month again."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from freezegun import freeze_time

from monitor.cli import main
from tests.support.alertmanager_cluster import alertmanager_cluster
from tests.support.mailbox import smtp_server
from tests.support.receiver import wait_until
from tests.support.report_month import CONFIG, NOW, in_october, october  # noqa: F401

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("in_october")]

HA_MAIL = """
[ha]
replica = "{replica}"
peers = ["http://127.0.0.1:9"]
alertmanagers = [{alertmanagers}]
report_sender = "a"

[[ha.receivers]]
name = "admins"
type = "email"
host = "127.0.0.1"
port = {port}
security = "none"
from = "slurm-sla-monitor@example.org"
to = ["hpc-admins@example.org"]

[report]
directory = "archive-{replica}"
formats = ["md"]
mail_receiver = "admins"
"""
NOWHERE = "route: {receiver: nowhere}\nreceivers: [{name: nowhere}]\n"


def archive(capsys, replica: str, alertmanagers: list[str], port: int) -> tuple[int, str, str]:
    listed = ", ".join(f'"{u}"' for u in alertmanagers)
    text = HA_MAIL.format(replica=replica, alertmanagers=listed, port=port)
    Path(f"{replica}.toml").write_text(CONFIG + text)
    with freeze_time(NOW):
        code = main(["report", "--config", f"{replica}.toml", "--archive"])
    out, err = capsys.readouterr()
    return code, out, err


def marks(url: str) -> list[dict]:
    answer = requests.get(f"{url}/api/v2/silences", timeout=5)
    return [s for s in answer.json() if s["status"]["state"] == "active"]


def test_a_month_mailed_by_the_peer_is_not_mailed_again(capsys, tmp_path):
    Path("am.yml").write_text(NOWHERE)
    with (
        alertmanager_cluster(Path("am.yml").resolve(), tmp_path) as (am1, am2),
        smtp_server() as (port, box),
    ):
        code, out, err = archive(capsys, "b", [am1, am2], port)  # a answers nowhere
        assert (code, err) == (0, "")
        assert out.splitlines()[-3:] == [
            "replica a ([ha] report_sender) answers at no peer URL: replica b mails instead",
            "mailed through admins",
            f"marked as mailed on {am1}",
        ]
        assert len(box.messages) == 1
        (mark,) = wait_until(lambda: marks(am2), 15, "the mark gossiped to the other peer")
        assert mark["createdBy"] == "slurm-sla-monitor replica b"

        # a's timer catches up at boot, asking the peer b did not post to
        code, out, err = archive(capsys, "a", [am2], port)
        assert (code, err) == (0, "")
        assert out.splitlines()[-1].startswith(
            "not mailed: replica b mailed the 2026-10 report at "
        ), out
        assert Path("archive-a/2026-10/slurm-sla-report-2026-10.md").exists()
        assert len(box.messages) == 1  # the customer got one mail
