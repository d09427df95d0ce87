"""The monthly report of an HA pair is mailed once (issue 17): only [ha] report_sender mails
it; another replica mails it only while no peer URL answers as the sender. Over real HTTP
(the sender's /ledger/export behind basic auth) and a real SMTP server."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import bcrypt
import pytest
from freezegun import freeze_time
from prometheus_client import CollectorRegistry

from exporters.http import Health, MetricsServer
from exporters.web_config import WebConfig
from monitor.cli import main
from monitor.config import parse_config
from monitor.errors import ConfigError
from monitor.ha.report_mark import MailedMark, mark_in, silence
from monitor.ha.report_sender import decide
from monitor.ha.settings import HaSettings
from monitor.ledger.peers import ExportPage
from tests.support.mailbox import smtp_server
from tests.support.report_month import CONFIG, NOW, in_october, october  # noqa: F401

AUTH = ("peer", "s3cret")
NO_MARK = "slurm-sla: no Alertmanager took the mark that 2026-10 is mailed\n"


def ha(replica: str, sender: str = "a") -> HaSettings:
    return HaSettings(replica, ("http://mon-a:9817", "http://mon-c:9817"), report_sender=sender)


def test_only_the_sender_mails_and_a_peer_mails_while_it_does_not_answer():
    assert decide(None, lambda url: None).mail  # one replica: as before
    assert decide(ha("a"), lambda url: pytest.fail("the sender asks nobody")).mail
    answering = {"http://mon-a:9817": "a", "http://mon-c:9817": "c"}
    decision = decide(ha("b"), answering.get)
    assert not decision.mail
    assert decision.why == "not mailed: replica a (http://mon-a:9817) answers and mails it"
    assert decide(ha("b"), {"http://mon-c:9817": "c"}.get).mail
    # a URL answering as another replica (the pair's addresses swapped) is not the sender
    assert decide(ha("b"), {"http://mon-a:9817": "c"}.get).mail
    assert not decide(ha("b", sender=""), answering.get).mail
    # a month a replica mailed is mailed by nobody else, the sender included
    mark = MailedMark("b", "2026-11-01T12:04:00.000Z")
    for replica in ("a", "b"):
        decision = decide(ha(replica), {}.get, mark, "2026-10")
        assert not decision.mail
        assert decision.why == (
            "not mailed: replica b mailed the 2026-10 report at 2026-11-01T12:04:00.000Z "
            "(its mark on the Alertmanagers)"
        )


def test_the_mark_is_a_silence_of_an_alert_nobody_sends():
    now = dt.datetime(2026, 11, 1, 12, 4, tzinfo=dt.UTC)
    body = silence("2026-10", "b", now)
    assert body["matchers"] == [
        {"name": "alertname", "value": "SlurmSLAReportMailed", "isRegex": False, "isEqual": True},
        {"name": "month", "value": "2026-10", "isRegex": False, "isEqual": True},
    ]
    assert body["startsAt"] == "2026-11-01T12:04:00.000000Z"
    assert body["endsAt"] == "2027-01-02T12:04:00.000000Z"  # past next month's report
    listed = [
        {**body, "status": {"state": "active"}, "startsAt": "2026-11-01T12:04:00.000Z"},
        {**silence("2026-10", "a", now), "status": {"state": "expired"}},  # lifted: no mark
        {**silence("2026-09", "a", now), "status": {"state": "active"}},  # another month
    ]
    assert mark_in(listed, "2026-10") == MailedMark("b", "2026-11-01T12:04:00.000Z")
    assert mark_in(listed[1:], "2026-10") is None


HA_MAIL = """
[ha]
replica = "{replica}"
peers = ["{peer}"]
alertmanagers = ["http://127.0.0.1:9"]
report_sender = "a"
peer_user = "peer"
peer_password_file = "peer.pw"

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


def test_an_ha_report_needs_its_sender_and_mails_through_an_ha_receiver():
    text = CONFIG + HA_MAIL.format(replica="b", peer="http://mon-a:9817", port=25)
    config = parse_config(text)
    assert config.report.mail_receiver == "admins" and config.ha.report_sender == "a"
    with pytest.raises(ConfigError) as exc:
        parse_config(text.replace('report_sender = "a"\n', ""), "c.toml")
    (problem,) = exc.value.problems
    line = text.splitlines().index("[ha]") + 1  # a key not written: its table's line
    assert problem.startswith(f"c.toml:{line}: ha.report_sender: required with [report] mail_")


@pytest.fixture
def sender_a(in_october):  # noqa: F811 - the fixture of the known month
    """Replica a's endpoint (its ledger export behind basic auth); yields its URL."""
    web = WebConfig(users={AUTH[0]: bcrypt.hashpw(AUTH[1].encode(), bcrypt.gensalt(4))})
    server = MetricsServer(
        "127.0.0.1", 0, CollectorRegistry(), lambda: Health(True, {}), web,
        ledger=ExportPage(lambda: Path("state").resolve(), lambda: "a"),
    )  # fmt: skip
    server.start()
    Path("peer.pw").write_text(AUTH[1] + "\n")
    try:
        yield f"http://127.0.0.1:{server.port}", server
    finally:
        server.stop()


def archive(capsys, replica: str, peer: str, port: int) -> tuple[int, str, str]:
    Path("ha.toml").write_text(CONFIG + HA_MAIL.format(replica=replica, peer=peer, port=port))
    with freeze_time(NOW):
        code = main(["report", "--config", "ha.toml", "--archive"])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_pair_mails_the_report_once(capsys, sender_a):
    url, server = sender_a
    with smtp_server() as (port, box):
        code, out, err = archive(capsys, "b", url, port)
        assert (code, err) == (0, "")
        assert f"not mailed: replica a ({url}) answers and mails it" in out.splitlines()
        assert Path("archive-b/2026-10/slurm-sla-report-2026-10.md").exists()  # written anyway
        assert box.messages == []

        code, out, err = archive(capsys, "a", "http://127.0.0.1:9", port)
        assert (code, err) == (0, NO_MARK)
        assert out.splitlines()[-2:] == ["replica a is [ha] report_sender", "mailed through admins"]
        assert len(box.messages) == 1

        server.stop()  # the sender is gone: b mails in its stead
        code, out, err = archive(capsys, "b", url, port)
        # (no Alertmanager here to keep the mark: tests/integration/test_ha_report_mark.py)
        assert (code, err) == (0, NO_MARK)
        assert out.splitlines()[-2:] == [
            "replica a ([ha] report_sender) answers at no peer URL: replica b mails instead",
            "mailed through admins",
        ]
        assert len(box.messages) == 2
        assert box.messages[1]["Subject"].startswith("[SLA report 2026-10]")
