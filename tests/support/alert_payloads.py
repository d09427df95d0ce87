"""Sample notifications and receiver options for the providers' payload tests, and an HTTP
client that records what a provider sends."""

from __future__ import annotations

import datetime as dt
import json

from monitor.alerting.model import AlertNotice, Notification, dedup_key, fingerprint
from monitor.alerting.providers.outcome import HttpResponse
from monitor.config import parse_config

T0 = dt.datetime(2026, 11, 26, 10, 0, 5, tzinfo=dt.UTC)
NOW = T0 + dt.timedelta(minutes=7, seconds=30)


def alert(name, instance, status="firing", severity="critical", **labels):
    return AlertNotice(
        fingerprint("prod", name, instance),
        dedup_key("prod", name, instance),
        status,
        {"alertname": name, "severity": severity, "cluster": "prod", **labels},
        {
            "summary": f"{name} on prod",
            "description": f"What {name} means <here> & now.",
            "runbook_url": f"https://wiki.example.org/runbooks#{name}",
        },
        T0,
        NOW if status == "resolved" else None,
    )


def firing() -> Notification:
    return Notification(
        "oncall",
        '{}:{cluster="prod"}',
        {"cluster": "prod"},
        (
            alert("SlurmctldDown", "slurmctld", service="slurmctld", daemon="slurmctld"),
            alert(
                "SlurmdbdBackupDown",
                "slurmdbd@dbd2(backup)",
                severity="warning",
                service="slurmdbd",
                daemon="slurmdbd",
                host="dbd2",
                role="backup",
            ),
            alert(
                "SlurmctldFailover",
                "slurmctld@ctl2",
                "resolved",
                "warning",
                service="slurmctld",
                daemon="slurmctld",
                host="ctl2",
                role="backup",
            ),
        ),
        NOW,
        "https://monitor.example.org:9817/",
    )


def resolved() -> Notification:
    return Notification(
        "oncall",
        '{}:{cluster="prod"}',
        {"cluster": "prod"},
        (alert("SlurmctldDown", "slurmctld", "resolved", service="slurmctld", daemon="slurmctld"),),
        NOW,
        "",
    )


def options(kind: str, extra: str):
    text = f'[[clusters]]\nname = "prod"\n[[receivers]]\nname = "oncall"\ntype = "{kind}"\n{extra}'
    return parse_config(text).receivers[0].settings


OPTIONS = {
    "webhook": 'url = "http://127.0.0.1:9/hook"\n',
    "slack": 'url = "https://hooks.slack.example/T/B/X"\nchannel = "#hpc"\n',
    "pagerduty": 'routing_key = "R0UT1NGKEY"\n',
    "alertmanager": 'urls = ["http://127.0.0.1:9093"]\n',
    "email": 'host = "127.0.0.1"\nfrom = "mon@example.org"\nto = ["a@example.org"]\n',
}


def render(payload) -> str:
    if hasattr(payload, "html"):
        return (
            f"Subject: {payload.subject}\nFrom: {payload.sender}\nTo: {', '.join(payload.to)}"
            f"\n\n{payload.text}\n--- html ---\n{payload.html}"
        )
    return json.dumps(payload, indent=2, sort_keys=False) + "\n"


class RecordingHttp:
    """An HTTP client that answers ``status`` and keeps every POST (url, body, headers)."""

    def __init__(self, status: int = 200, headers: dict | None = None) -> None:
        self.calls: list[tuple[str, bytes, dict]] = []
        self.status, self.headers = status, headers or {}

    def post(self, url, body, headers, timeout):
        self.calls.append((url, body, dict(headers)))
        return HttpResponse(self.status, self.headers, "")
