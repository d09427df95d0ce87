"""What a restarted monitor says about alerts it restored: until its own rounds have
confirmed who serves, a failover it was paging for is held, never resolved (a receiver
told "resolved" and then "firing" again on every restart mid-incident)."""

from __future__ import annotations

from dataclasses import replace

from monitor.alerting.rules import evaluate
from monitor.alerting.settings import AlertSettings
from monitor.config import Thresholds
from monitor.observation import Condition, ServiceObservation
from tests.support.alerting import T0, UNKNOWN, UP, status


def _serving_unconfirmed(service: str, *, seen: bool = True, **states):
    """The service is known up and the round names who serves (``seen``), but the serving
    instance's own hysteresis has not confirmed it yet (the first rounds after a restart)."""
    st = status(**states)
    svc = st.services[service]
    observed = ServiceObservation(
        service, UP, Condition.FAILOVER, True, False, svc.active if seen else None
    )
    obs = replace(st.observation, services={**st.observation.services, service: observed})
    services = {**st.services, service: replace(svc, active=None)}
    return replace(st, observation=obs, services=services)


def test_slurmctld_failover_is_held_until_the_serving_controller_is_confirmed():
    ev = evaluate(
        _serving_unconfirmed("slurmctld", ctl1=UNKNOWN, ctl2=UP),
        (), AlertSettings(), Thresholds(), T0,
    )  # fmt: skip
    assert ev.is_held("SlurmctldFailover", "slurmctld@ctl2")
    assert not any(c.alertname == "SlurmctldFailover" for c in ev.active)


def test_slurmdbd_failover_is_held_until_the_serving_slurmdbd_is_confirmed():
    ev = evaluate(
        _serving_unconfirmed("slurmdbd", dbd1=UNKNOWN, dbd2=UP),
        (), AlertSettings(), Thresholds(), T0,
    )  # fmt: skip
    assert ev.is_held("SlurmdbdFailover", "slurmdbd@dbd2")


def test_nobody_named_as_serving_is_no_reason_to_hold():
    ev = evaluate(
        _serving_unconfirmed("slurmdbd", seen=False, dbd1=UNKNOWN, dbd2=UP),
        (), AlertSettings(), Thresholds(), T0,
    )  # fmt: skip
    assert not ev.is_held("SlurmdbdFailover", "slurmdbd@dbd2")


def test_a_confirmed_primary_resolves_the_failover():
    ev = evaluate(status(), (), AlertSettings(), Thresholds(), T0)
    assert not ev.is_held("SlurmctldFailover", "slurmctld@ctl2")
    assert not any(c.alertname == "SlurmctldFailover" for c in ev.active)
