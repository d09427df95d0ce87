"""check-config on what the peer-view gate needs (issue 17): SlurmMonitorBlind enabled in
HA mode (a cut-off replica withholds its Down pages and says so only with it), and no peer
or Alertmanager listed twice."""

from __future__ import annotations

import pytest

from monitor.config import load_config
from monitor.errors import ConfigError

BASE = """\
[monitor]
state_dir = "/tmp/x"
[[clusters]]
name = "prod"
{alerts}
[ha]
replica = "a"
peers = {peers}
alertmanagers = ["http://am1:9093"]
"""


def write(tmp_path, alerts="", peers='["http://mon-b:9817"]'):
    path = tmp_path / "c.toml"
    path.write_text(BASE.format(alerts=alerts, peers=peers))
    return path


def test_the_shipped_alerts_suit_the_gate(tmp_path):
    assert load_config(write(tmp_path)).ha.peers == ("http://mon-b:9817",)


def test_blindness_disabled_in_ha_mode_is_refused_with_its_key(tmp_path):
    off = "[alerts.rules.SlurmMonitorBlind]\nenabled = false\n"
    with pytest.raises(ConfigError) as exc:
        load_config(write(tmp_path, alerts=off))
    (problem,) = exc.value.problems
    assert ":6: alerts.rules.SlurmMonitorBlind.enabled: must stay enabled in HA mode" in problem


def test_blindness_may_be_disabled_without_ha(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[[clusters]]\nname = "p"\n[alerts.rules.SlurmMonitorBlind]\nenabled = false\n')
    assert not load_config(path).alerts.rule("SlurmMonitorBlind").enabled


def test_a_peer_listed_twice_is_refused(tmp_path):
    with pytest.raises(ConfigError) as exc:
        load_config(write(tmp_path, peers='["http://b:9817", "http://b:9817"]'))
    assert any("ha.peers[1]: 'http://b:9817' is listed twice" in p for p in exc.value.problems)
