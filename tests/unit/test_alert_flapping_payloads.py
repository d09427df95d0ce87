"""A flapping alert says so in every receiver's payload: the engine puts it in the notice's
annotations (``flapping`` and a sentence in ``description``), which every provider renders.
PagerDuty's resolve events carry no details (Events API v2), so there only the trigger does."""

from __future__ import annotations

import datetime as dt

import pytest
from freezegun import freeze_time

from monitor.alerting.model import FIRING, RESOLVED, Notification
from monitor.alerting.providers import PROVIDERS
from tests.support.alert_payloads import OPTIONS, options, render
from tests.support.alerting import DOWN, T0, deliver_all, engine, status


def flapping_notices(tmp_path) -> dict[str, Notification]:
    """The engine's own notices of a backup controller going down and back, 3 times."""
    got: dict[str, Notification] = {}
    with freeze_time(T0) as frozen:
        eng = engine(tmp_path)
        for state in ({"ctl2": DOWN}, {}) * 3:
            frozen.tick(dt.timedelta(seconds=10))
            now = dt.datetime.now(dt.UTC)
            for n in eng.on_round(status(since=now, **state), [], now):
                got[n.status] = n  # the last firing and the last resolved
            deliver_all(eng)
    return got


@pytest.mark.parametrize("kind", sorted(PROVIDERS))
@pytest.mark.parametrize("which", [FIRING, RESOLVED])
def test_every_payload_says_the_alert_is_flapping(tmp_path, kind, which):
    n = flapping_notices(tmp_path)[which]
    assert n.alerts[0].annotations["flapping"] == "true"
    text = render(PROVIDERS[kind].build_payload(options(kind, OPTIONS[kind]), n, T0))
    if kind == "pagerduty" and which == RESOLVED:
        assert "flapping" not in text  # a resolve event has no payload to say it in
        return
    assert "This alert is flapping" in text, text


def test_a_steady_alert_says_nothing_of_flapping(tmp_path):
    with freeze_time(T0):
        eng = engine(tmp_path)
        (n,) = eng.on_round(status(ctl2=DOWN), [], T0)
    assert "flapping" not in n.alerts[0].annotations
    assert "flapping" not in n.alerts[0].annotations["description"]
