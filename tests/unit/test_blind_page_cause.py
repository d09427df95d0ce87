"""The SlurmMonitorBlind page says why the monitor cannot see, in the probe's own words."""

from __future__ import annotations

from dataclasses import replace

from monitor.alerting.rules import evaluate
from monitor.alerting.settings import AlertSettings
from monitor.config import Thresholds
from monitor.observation import ProbeError
from tests.support.alerting import T0, status

NO_CONF = (
    "scontrol ping: a Slurm configuration file does not exist "
    "(/etc/slurm/slurm.conf: No such file or directory)"
)


def test_the_page_carries_the_cause():
    st = status(blind="command_failed")
    obs = replace(st.observation, errors=(ProbeError("ping", "command_failed", NO_CONF, T0),))
    ev = evaluate(replace(st, observation=obs), (), AlertSettings(), Thresholds(), T0)
    (blind, *_) = [c for c in ev.active if c.alertname == "SlurmMonitorBlind"]
    description = blind.annotations["description"]
    assert "ping: command_failed" in description
    assert NO_CONF in description
