"""The [alerts] flap settings: defaults that never hold a resolve, and a capped hold."""

from __future__ import annotations

import pytest

from monitor.alerting.settings import FLAP_HOLD_MAX_SECONDS, AlertSettings
from monitor.config import ConfigError, parse_config

BASE = '[[clusters]]\nname = "prod"\n'


def test_flap_defaults_mark_flapping_but_hold_nothing():
    alerts = parse_config(BASE).alerts
    assert alerts == AlertSettings()
    assert (alerts.flap_window_seconds, alerts.flap_threshold) == (1800, 4)
    assert alerts.flap_hold_seconds == 0


def test_a_short_flap_hold_is_accepted():
    alerts = parse_config(BASE + "[alerts]\nflap_hold_seconds = 20\n").alerts
    assert alerts.flap_hold_seconds == 20


def test_a_flap_hold_past_the_cap_is_an_error_naming_the_key():
    with pytest.raises(ConfigError) as info:
        parse_config(BASE + "[alerts]\nflap_hold_seconds = 600\n", "c.toml")
    (problem,) = info.value.problems
    assert problem.startswith("c.toml:4: alerts.flap_hold_seconds: at most 60")
    assert FLAP_HOLD_MAX_SECONDS == 60
