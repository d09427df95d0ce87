"""[ha] (issue 17): the reader, check-config's refusals in HA mode, the daemon's receivers
in HA mode, the replica info metric, and the generated Alertmanager config (golden file;
REGEN_GOLDEN=1 to accept a change)."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from exporters.collectors.replica import ReplicaCollector
from monitor.alerting.amconfig import generate
from monitor.alerting.policy import INHIBITIONS
from monitor.alerting.service import delivery_receivers, engine_inhibitions, engine_settings
from monitor.config import parse_config
from monitor.errors import ConfigError
from monitor.ha.settings import CLUSTER_RECEIVER
from tests.support.golden import assert_golden

GOLDEN = Path(__file__).parent / "golden" / "alertmanager" / "ha.yml"
CLUSTER = '[[clusters]]\nname = "prod"\n'
HA = '[ha]\nreplica = "a"\npeers = ["https://mon-b:9817"]\nalertmanagers = ["http://am1:9093", "http://am2:9093"]\n'
FULL = (
    CLUSTER
    + """
[alerts]
group_by = ["cluster", "alertname"]
group_wait_seconds = 30
repeat_interval_seconds = 7200

[[alerts.routes]]
receivers = ["pager"]
severities = ["critical"]
clusters = ["prod"]

[[alerts.routes]]
receivers = ["chat", "mail", "hook"]

"""
    + HA
    + """
[[ha.receivers]]
name = "pager"
type = "pagerduty"
routing_key_file = "/etc/slurm-sla-monitor/pd.key"

[[ha.receivers]]
name = "chat"
type = "slack"
url = "https://hooks.slack.example/T/B/X"
channel = "#slurm"

[[ha.receivers]]
name = "mail"
type = "email"
host = "smtp.example.org"
from = "slurm-sla@example.org"
to = ["ops@example.org", "hpc@example.org"]
username = "mon"
password_file = "/etc/slurm-sla-monitor/smtp.pw"
subject_prefix = "[slurm]"

[[ha.receivers]]
name = "hook"
type = "webhook"
url = "http://127.0.0.1:9/hook"
bearer_token_file = "/etc/slurm-sla-monitor/hook.token"
send_resolved = false
repeat_interval_seconds = 600
"""
)


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        parse_config(text, "c.toml")
    return exc.value.problems


def test_the_ha_table_is_read():
    config = parse_config(FULL, "c.toml")
    assert config.ha is not None
    assert config.ha.replica == "a"
    assert config.ha.peers == ("https://mon-b:9817",)
    assert config.ha.alertmanagers == ("http://am1:9093", "http://am2:9093")
    assert [(r.name, r.type) for r in config.ha.receivers] == [
        ("pager", "pagerduty"),
        ("chat", "slack"),
        ("mail", "email"),
        ("hook", "webhook"),
    ]
    assert config.receivers == ()


def test_without_the_table_it_is_single_replica_mode():
    assert parse_config(CLUSTER, "c.toml").ha is None


def test_direct_receivers_are_refused_in_ha_mode_and_say_why():
    text = CLUSTER + '[[receivers]]\nname = "hook"\ntype = "webhook"\nurl = "http://h:9/x"\n' + HA
    (problem,) = problems(text)
    assert problem.startswith("c.toml:5: receivers[0].type: two replicas would page twice:")
    assert "slurm-sla alertmanager-config" in problem


def test_a_direct_alertmanager_receiver_is_allowed_in_ha_mode():
    text = CLUSTER + '[[receivers]]\nname = "am"\ntype = "alertmanager"\nurls = ["http://x:9093"]\n'
    assert parse_config(text + HA, "c.toml").ha is not None


def test_ha_needs_alertmanagers_a_replica_name_and_urls():
    text = CLUSTER + '[ha]\nreplica = "a b"\npeers = ["mon-b"]\nalertmanagers = []\n'
    got = problems(text)
    assert any(p.startswith("c.toml:4: ha.replica: use letters") for p in got), got
    assert any(p.startswith("c.toml:5: ha.peers[0]: expected an http") for p in got), got
    assert any(p.startswith("c.toml:6: ha.alertmanagers: name at least one") for p in got), got
    assert any("ha.replica: required" in p for p in problems(CLUSTER + "[ha]\n")), got


def test_routes_name_ha_receivers_in_ha_mode():
    text = CLUSTER + '[[alerts.routes]]\nreceivers = ["nobody"]\n' + HA
    (problem,) = problems(text)
    assert "alerts.routes[0].receivers[0]: no receiver named 'nobody'" in problem


def test_the_daemon_sends_everything_to_the_alertmanager_cluster_in_ha_mode():
    config = parse_config(FULL, "c.toml")
    (receiver,) = delivery_receivers(config)
    assert receiver.name == CLUSTER_RECEIVER and receiver.spec.type == "alertmanager"
    assert receiver.options.urls == ("http://am1:9093", "http://am2:9093")
    settings = engine_settings(config)
    assert settings.routes == () and settings.group_wait_seconds == 0
    assert engine_inhibitions(config) == ()


def test_single_replica_mode_keeps_its_receivers_routes_and_inhibitions():
    text = CLUSTER + '[[receivers]]\nname = "hook"\ntype = "webhook"\nurl = "http://h:9/x"\n'
    config = parse_config(text, "c.toml")
    assert [r.name for r in delivery_receivers(config)] == ["hook"]
    assert engine_settings(config) is config.alerts
    assert engine_inhibitions(config) == INHIBITIONS


def test_the_replica_info_metric():
    registry = CollectorRegistry()
    config = parse_config(FULL, "c.toml")
    registry.register(ReplicaCollector(lambda: config.ha))
    text = generate_latest(registry).decode()
    assert 'slurm_sla_monitor_replica_info{replica="a"} 1.0' in text
    empty = CollectorRegistry()
    empty.register(ReplicaCollector(lambda: None))
    assert generate_latest(empty) == b""


def test_the_alertmanager_config_golden():
    assert_golden(GOLDEN, generate(parse_config(FULL, "c.toml")))


def test_the_alertmanager_config_has_one_inhibit_rule_per_engine_inhibition_but_blindness():
    """A replica's blindness is its own: as a source it would mute its peer's real Down
    (the alerts carry no replica label). Without [ha] (one monitor migrating to an
    Alertmanager) every inhibition is carried."""
    text = generate(parse_config(FULL, "c.toml"))
    kept = [rule for rule in INHIBITIONS if rule.source != "SlurmMonitorBlind"]
    assert len(kept) < len(INHIBITIONS)
    assert text.count("- source_matchers:") == len(kept)
    assert 'alertname="SlurmMonitorBlind"' not in text.split("inhibit_rules:")[1].split(
        "receivers:"
    )[0]
    single = generate(parse_config(CLUSTER + '[[receivers]]\nname = "h"\ntype = "webhook"\n'
                                   'url = "http://h/x"\n', "c.toml"))  # fmt: skip
    assert single.count("- source_matchers:") == len(INHIBITIONS)


def test_group_wait_is_at_least_a_second_so_a_rounds_inhibitions_hold():
    """The engine inhibits within a round; Alertmanager at a group's flush: at 0s a
    SlurmctldBackupDown posted ms before its round's SlurmctldDown was paged beside it."""
    assert 'group_wait: "30s"' in generate(parse_config(FULL, "c.toml"))
    for wait in ("", "group_wait_seconds = 0\n", "group_wait_seconds = 0.2\n"):
        config = parse_config(f"{CLUSTER}[alerts]\n{wait}{HA}", "c.toml")
        assert 'group_wait: "1s"' in generate(config)


def test_secrets_alertmanager_cannot_read_are_named():
    text = CLUSTER + HA + '[[ha.receivers]]\nname = "h"\ntype = "webhook"\nurl_env = "HOOK"\n'
    with pytest.raises(ConfigError) as exc:
        generate(parse_config(text, "c.toml"))
    assert exc.value.problems == [
        "c.toml: ha.receivers[0].url_env: Alertmanager reads no environment variables; "
        "give url or url_file"
    ]


def test_a_single_replica_config_gives_its_receivers_to_the_alertmanager():
    text = CLUSTER + '[[receivers]]\nname = "hook"\ntype = "webhook"\nurl = "http://h:9/x"\n'
    out = generate(parse_config(text, "c.toml"))
    assert '  - name: "hook"\n    webhook_configs:\n      - url: "http://h:9/x"' in out
    assert '    - receiver: "hook"\n      continue: true' in out
