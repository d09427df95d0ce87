"""The alert metrics: rendered from the alerting status value only, with a private
registry; and the facade that builds that value."""

from __future__ import annotations

import datetime as dt

from freezegun import freeze_time
from prometheus_client import CollectorRegistry, generate_latest

from exporters.collectors.alerts import AlertCollector
from monitor.alerting.model import fingerprint
from monitor.alerting.service import Alerting
from monitor.alerting.status import AlertingStatus, FiringAlert, ReceiverStatus
from monitor.config import parse_config
from tests.support.alerting import DOWN, EXPOSITION_GOLDEN, T0, db_at, status
from tests.support.golden import assert_golden


def render(value: AlertingStatus, now: dt.datetime) -> str:
    registry = CollectorRegistry()
    registry.register(AlertCollector(lambda: value, clock=lambda: now))
    return generate_latest(registry).decode()


def firing(alertname: str, instance: str, severity: str, **labels: str) -> FiringAlert:
    return FiringAlert(
        "prod", alertname, severity, **labels, fingerprint=fingerprint("prod", alertname, instance)
    )


DOWN_FIRING = (
    firing("SlurmctldDown", "slurmctld", "critical", service="slurmctld", daemon="slurmctld"),
    firing(
        "SlurmctldBackupDown",
        "slurmctld@ctl2(backup)",
        "warning",
        service="slurmctld",
        daemon="slurmctld",
        host="ctl2",
        role="backup",
    ),
)


def test_exposition_golden():
    value = AlertingStatus(
        T0,
        DOWN_FIRING,
        {
            "oncall": ReceiverStatus(3, 2, 0, 1, T0 - dt.timedelta(seconds=42), 0),
            "pager": ReceiverStatus(5, 0, 1, 0, None, 1),
        },
    )
    text = render(value, T0)
    assert 'slurm_sla_alert_outbox_oldest_age_seconds{receiver="oncall"} 42.0' in text
    assert_golden(EXPOSITION_GOLDEN, text)


def test_each_firing_instance_is_its_own_series_valued_1():
    """Two SlurmMonitorBlind (one per service) are two series of 1, not one series of 2."""
    blind = tuple(
        firing("SlurmMonitorBlind", service, "warning", service=service)
        for service in ("slurmctld", "slurmdbd")
    )
    lines = [
        line
        for line in render(AlertingStatus(T0, blind), T0).splitlines()
        if line.startswith("slurm_sla_alerts_firing{")
    ]
    assert len(lines) == 2 and all(line.endswith("} 1.0") for line in lines), lines
    assert 'service="slurmctld"' in lines[0] and 'service="slurmdbd"' in lines[1]


def test_vanished_alerts_vanish():
    assert "slurm_sla_alerts_firing{" not in render(AlertingStatus(T0), T0)


CONFIG = """
[[clusters]]
name = "prod"
[[receivers]]
name = "oncall"
type = "webhook"
url = "http://127.0.0.1:9/hook"
"""


def test_the_facade_counts_firing_alerts_and_queued_notifications(tmp_path):
    with freeze_time(T0):
        alerting = Alerting(parse_config(CONFIG), db_at(tmp_path))
        alerting.on_round(status(ctl1=DOWN, ctl2=DOWN, since=T0), [], T0)
        value = alerting.status()
        assert value.firing == tuple(sorted(DOWN_FIRING))
        assert value.receivers["oncall"].queued == 1
        assert value.receivers["oncall"].oldest_queued_at == T0
        text = render(value, T0 + dt.timedelta(seconds=5))
        assert 'slurm_sla_alert_outbox_depth{receiver="oncall"} 1.0' in text
        assert 'slurm_sla_alert_outbox_oldest_age_seconds{receiver="oncall"} 5.0' in text


def test_the_facade_shows_two_blind_services_as_two_firing_alerts(tmp_path):
    with freeze_time(T0):
        alerting = Alerting(parse_config(CONFIG), db_at(tmp_path))
        alerting.on_round(status(blind="auth", since=T0), [], T0)
        value = alerting.status()
    assert [(a.alertname, a.service) for a in value.firing] == [
        ("SlurmMonitorBlind", "slurmctld"),
        ("SlurmMonitorBlind", "slurmdbd"),
    ]
    assert len({a.fingerprint for a in value.firing}) == 2
