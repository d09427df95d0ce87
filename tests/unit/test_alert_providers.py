"""Each receiver module: its pure payload against a golden file (``REGEN_GOLDEN=1`` to
regenerate), its options' validation (unknown or missing keys are FILE:LINE errors), and
how ``send`` treats secrets, signatures and answers."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest

from monitor.alerting.providers import PROVIDERS
from monitor.alerting.providers.base import SendContext
from monitor.alerting.providers.outcome import HttpResponse, outcome, parse_retry_after
from monitor.config import ConfigError
from tests.support.alert_payloads import (
    NOW,
    OPTIONS,
    RecordingHttp,
    firing,
    options,
    render,
    resolved,
)
from tests.support.golden import assert_golden

GOLDEN = Path(__file__).parent / "golden" / "alerting"


@pytest.mark.parametrize("kind", sorted(PROVIDERS))
@pytest.mark.parametrize("which", ["firing", "resolved"])
def test_payload_golden(kind, which):
    spec = PROVIDERS[kind]
    n = firing() if which == "firing" else resolved()
    payload = spec.build_payload(options(kind, OPTIONS[kind]), n, NOW)
    ext = "txt" if kind == "email" else "json"
    assert_golden(GOLDEN / f"{kind}-{which}.{ext}", render(payload))


def test_webhook_payload_is_alertmanager_v4():
    p = PROVIDERS["webhook"].build_payload(options("webhook", OPTIONS["webhook"]), firing(), NOW)
    assert p["version"] == "4" and p["status"] == "firing" and p["receiver"] == "oncall"
    assert set(p) >= {"groupLabels", "commonLabels", "commonAnnotations", "externalURL", "alerts"}
    assert p["commonLabels"] == {"cluster": "prod"}
    a = p["alerts"][0]
    assert set(a) >= {"status", "labels", "annotations", "startsAt", "endsAt", "fingerprint"}
    assert a["endsAt"] == "0001-01-01T00:00:00Z"
    assert p["alerts"][2]["endsAt"] == "2026-11-26T10:07:35Z"  # a real endsAt when resolved
    capped = options("webhook", OPTIONS["webhook"] + "max_alerts = 1\n")
    p = PROVIDERS["webhook"].build_payload(capped, firing(), NOW)
    assert len(p["alerts"]) == 1 and p["truncatedAlerts"] == 2


def test_pagerduty_events_use_our_dedup_key():
    events = PROVIDERS["pagerduty"].build_payload(
        options("pagerduty", OPTIONS["pagerduty"]), firing(), NOW
    )
    assert [(e["event_action"], e["dedup_key"]) for e in events] == [
        ("trigger", "prod/SlurmctldDown/slurmctld"),
        ("trigger", "prod/SlurmdbdBackupDown/slurmdbd@dbd2(backup)"),
        ("resolve", "prod/SlurmctldFailover/slurmctld@ctl2"),
    ]
    assert events[1]["payload"]["severity"] == "warning"
    assert all("routing_key" not in e for e in events)  # a secret: added only when sending


def test_alertmanager_firing_ends_four_intervals_ahead():
    alerts = PROVIDERS["alertmanager"].build_payload(
        options("alertmanager", OPTIONS["alertmanager"]), firing(), NOW
    )
    assert alerts[0]["endsAt"] == "2026-11-26T10:11:35Z"  # now + 4 x 60 s
    assert alerts[2]["endsAt"] == "2026-11-26T10:07:35Z"


# --- options -----------------------------------------------------------------------------


def errors(text: str, tmp_path) -> list[str]:
    path = tmp_path / "c.toml"
    path.write_text('[[clusters]]\nname = "prod"\n' + text)
    with pytest.raises(ConfigError) as info:
        from monitor.config import load_config

        load_config(path)
    return [p.replace(f"{path}:", "") for p in info.value.problems]


def test_unknown_and_missing_receiver_keys_are_file_line_errors(tmp_path):
    got = errors(
        "[[receivers]]\n"  # 3
        'name = "a"\n'  # 4
        'type = "webhook"\n'  # 5
        'ulr = "http://x/"\n'  # 6
        "[[receivers]]\n"  # 7
        'name = "b"\n'  # 8
        'type = "email"\n'  # 9
        'host = "smtp"\n'  # 10
        'to = "root@example.org"\n'  # 11
        "[[receivers]]\n"  # 12
        'name = "c"\n'  # 13
        'type = "slack"\n'  # 14
        'url = "ftp://x"\n'  # 15
        'url_env = "SLACK_URL"\n'  # 16
        "max_per_minute = -1\n",  # 17
        tmp_path,
    )
    assert sorted(got) == sorted(
        [
            "3: receivers[0].url: required: set url, url_file or url_env",
            "6: receivers[0].ulr: unknown key",
            "7: receivers[1].from: required key is missing",
            "11: receivers[1].to: expected an array of strings",
            "16: receivers[2].url_env: give only one of url, url_file, url_env",
            "17: receivers[2].max_per_minute: must be >= 0, got -1",
            "15: receivers[2].url: expected an https or http URL",
        ]
    )


def test_alerts_table_errors_carry_their_lines(tmp_path):
    got = errors(
        "[[receivers]]\n"  # 3
        'name = "a"\n'  # 4
        'type = "webhook"\n'  # 5
        'url = "http://x/"\n'  # 6
        "[alerts]\n"  # 7
        "repeat_interval_seconds = 0\n"  # 8
        'runbok_url = "x"\n'  # 9
        "[alerts.rules.SlurmctldDown]\n"  # 10
        'severity = "page"\n'  # 11
        "[alerts.rules.SlurmSLABudgetBurn]\n"  # 12
        'page = [{ long = "5m", short = "1h", factor = 14.4 }]\n'  # 13
        "[[alerts.routes]]\n"  # 14
        'receivers = ["nobody"]\n'  # 15
        'clusters = ["prod", "qa"]\n',  # 16
        tmp_path,
    )
    assert sorted(got) == sorted(
        [
            "8: alerts.repeat_interval_seconds: must be > 0, got 0",
            "9: alerts.runbok_url: unknown key (did you mean 'runbook_url'?)",
            "11: alerts.rules.SlurmctldDown.severity: must be one of critical, info, warning; "
            "got 'page'",
            "13: alerts.rules.SlurmSLABudgetBurn.page[0].short: must be a shorter window than "
            "long ('5m')",
            "15: alerts.routes[0].receivers[0]: no receiver named 'nobody'",
            "16: alerts.routes[0].clusters[1]: no cluster named 'qa'",
        ]
    )


def test_a_full_alerts_table_reads(tmp_path):
    path = tmp_path / "ok.toml"
    path.write_text(
        '[[clusters]]\nname = "prod"\n'
        '[[receivers]]\nname = "pager"\ntype = "pagerduty"\nrouting_key_env = "PD_KEY"\n'
        '[[receivers]]\nname = "am"\ntype = "alertmanager"\nurls = ["http://a:9093"]\n'
        '[alerts]\nexternal_url = "https://mon/"\nrunbook_url = "https://wiki/{alertname}"\n'
        'group_by = ["cluster", "service"]\n'
        '[alerts.rules.SlurmctldFailover]\nseverity = "critical"\nfor_seconds = 30\n'
        '[alerts.rules.SlurmSLABudgetBurn]\nticket_severity = "info"\n'
        'ticket = [{ long = "1d", short = "1h", factor = 2.0 }]\n'
        "[alerts.outbox]\ndead_letter_after_seconds = 3600\n"
        '[[alerts.routes]]\nreceivers = ["pager"]\nseverities = ["critical"]\n'
    )
    from monitor.config import load_config

    config = load_config(path)
    a = config.alerts
    assert a.rule("SlurmctldFailover").severity == "critical"
    assert a.rule("SlurmctldFailover").for_seconds == 30
    assert a.burn.ticket[0].long == "1d" and a.burn.ticket_severity == "info"
    assert a.group_by == ("cluster", "service")
    assert a.outbox.dead_letter_after_seconds == 3600
    assert a.routes[0].receivers == ("pager",)
    am = config.receivers[1].settings
    assert am.repeat_interval_seconds == 60 and am.resend_resolved_seconds == 900


# --- secrets, signatures, answers --------------------------------------------------------


def test_webhook_secrets_from_file_and_env_sign_the_body(tmp_path, monkeypatch):
    (tmp_path / "url").write_text("http://127.0.0.1:9/secret-path\n")
    (tmp_path / "hmac").write_text("s3cret")
    monkeypatch.setenv("HOOK_TOKEN", "t0ken")
    opts = options(
        "webhook",
        f'url_file = "{tmp_path / "url"}"\nbearer_token_env = "HOOK_TOKEN"\n'
        f'hmac_secret_file = "{tmp_path / "hmac"}"\n',
    )
    assert "secret-path" not in repr(opts) and "t0ken" not in repr(opts)
    http = RecordingHttp()
    result = PROVIDERS["webhook"].send(opts, firing(), SendContext(NOW, http))
    assert result.ok
    (url, body, headers) = http.calls[0]
    assert url == "http://127.0.0.1:9/secret-path"
    assert headers["Authorization"] == "Bearer t0ken"
    expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["X-Slurm-SLA-Signature"] == f"sha256={expected}"
    assert json.loads(body)["version"] == "4"


def test_a_missing_secret_fails_the_delivery_without_showing_anything(tmp_path, monkeypatch):
    monkeypatch.delenv("PD_KEY", raising=False)
    opts = options("pagerduty", 'routing_key_env = "PD_KEY"\n')
    result = PROVIDERS["pagerduty"].send(opts, firing(), SendContext(NOW, RecordingHttp()))
    assert (
        not result.ok and result.error == "routing_key_env: environment variable PD_KEY is not set"
    )
    opts = options("slack", f'url_file = "{tmp_path / "nope"}"\n')
    result = PROVIDERS["slack"].send(opts, firing(), SendContext(NOW, RecordingHttp()))
    assert not result.ok and "cannot read" in result.error


def test_pagerduty_adds_the_routing_key_when_sending():
    http = RecordingHttp(202)
    opts = options("pagerduty", OPTIONS["pagerduty"] + 'url = "http://127.0.0.1:9/enqueue"\n')
    assert PROVIDERS["pagerduty"].send(opts, firing(), SendContext(NOW, http)).ok
    bodies = [json.loads(b) for _, b, _ in http.calls]
    assert [b["routing_key"] for b in bodies] == ["R0UT1NGKEY"] * 3


def test_http_answers_become_deliveries():
    assert outcome(HttpResponse(204, {}, ""), NOW).ok
    d = outcome(HttpResponse(429, {"Retry-After": "17"}, "slow down"), NOW)
    assert (d.ok, d.throttled, d.retry_after, d.error) == (False, True, 17.0, "HTTP 429: slow down")
    d = outcome(HttpResponse(503, {"Retry-After": "Thu, 26 Nov 2026 10:08:35 GMT"}, ""), NOW)
    assert d.retry_after == 60.0 and not d.throttled
    assert parse_retry_after("soon", NOW) is None
