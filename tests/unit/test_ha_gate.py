"""The peer-view gate (issue 17): a replica that sees a service down withholds the Down
page while a peer with a fresh view sees it up, raises its own blindness alert once the
disagreement lasts, and pages as if alone when no peer view is fresh."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from monitor.alerting.rules import evaluate
from monitor.alerting.settings import AlertSettings
from monitor.config import Thresholds
from monitor.ha.gate import GateParams, PeerSight, gate
from tests.support.alerting import DOWN, T0, UNKNOWN, UP, engine, status
from tests.support.peer_sights import CUT_OFF, sight

PARAMS = GateParams("a", max_age=5.0, blind_after=10.0)


def run(peers, since=None, now=T0, st_=CUT_OFF):
    ev = evaluate(st_, (), AlertSettings(), Thresholds(), now)
    return gate(ev, st_, peers, since or {}, now, PARAMS, AlertSettings(), Thresholds())


def names(result) -> set[str]:
    return {c.alertname for c in result.evaluation.active}


def test_alone_the_cut_off_replica_pages_down():
    assert {"SlurmctldDown", "SlurmdbdDown"} <= names(run([]))


def test_a_fresh_peer_that_sees_up_withholds_every_down_class_alert():
    result = run([sight()])
    assert not names(result) & {
        "SlurmctldDown",
        "SlurmdbdDown",
        "SlurmctldBackupDown",
        "SlurmdbdBackupDown",
    }
    assert {w.alertname for w in result.withheld} >= {"SlurmctldDown", "SlurmdbdDown"}
    assert set(result.since) == {"slurmctld", "slurmdbd"}
    assert "SlurmMonitorBlind" not in names(result)  # not yet: the edges of an outage


def test_a_lasting_contradiction_raises_blindness_naming_the_partition():
    first = run([sight()], now=T0)
    later = run([sight()], since=first.since, now=T0 + dt.timedelta(seconds=10))
    blind = {c.instance: c for c in later.evaluation.active if c.alertname == "SlurmMonitorBlind"}
    assert set(blind) == {"slurmctld", "slurmdbd"}
    ctl = blind["slurmctld"]
    assert (
        "replica a cannot reach the controllers; replica b sees slurmctld up"
        in (ctl.annotations["summary"])
    )
    assert ctl.since == T0  # since the contradiction began
    assert ctl.labels == {
        "alertname": "SlurmMonitorBlind",
        "severity": "warning",
        "cluster": "prod",
        "service": "slurmctld",
    }


def test_a_stale_peer_view_contradicts_nothing():
    assert {"SlurmctldDown", "SlurmdbdDown"} <= names(run([sight(age=5.0)]))


def test_a_peer_that_also_sees_down_or_is_blind_contradicts_nothing():
    assert "SlurmctldDown" in names(run([sight(ctl=DOWN, ctl2=DOWN, dbd=DOWN)]))
    assert "SlurmctldDown" in names(run([sight(ctl=UNKNOWN, ctl2=UNKNOWN, dbd=UNKNOWN)]))


def test_a_view_naming_this_replica_is_not_a_peer():
    assert "SlurmctldDown" in names(run([sight(replica="a")]))


def test_a_backup_the_peer_sees_down_still_pages():
    seen = status(ctl1=UP, ctl2=DOWN)
    result = run([sight(ctl2=DOWN)], st_=seen)
    assert "SlurmctldBackupDown" in names(result)
    assert "SlurmctldBackupDown" not in names(run([sight()], st_=seen))


def test_the_memory_ends_with_the_contradiction():
    first = run([sight()])
    assert run([], since=first.since).since == {}


@given(
    ages=st.lists(st.floats(min_value=0, max_value=20, allow_nan=False), max_size=3),
    states=st.lists(st.sampled_from([UP, DOWN, UNKNOWN]), min_size=3, max_size=3),
    held_for=st.floats(min_value=0, max_value=30, allow_nan=False),
)
def test_a_down_page_is_withheld_only_by_a_fresh_peer_seeing_up(ages, states, held_for):
    peers = [
        sight(f"p{i}", ctl=s, ctl2=s, dbd=s, age=a)
        for i, (a, s) in enumerate(zip(ages, states, strict=False))
    ]
    now = T0 + dt.timedelta(seconds=held_for)
    result = run(peers, since={"slurmctld": T0}, now=now)
    contradicting = any(
        p.ages["slurmctld"] < PARAMS.max_age and p.services["slurmctld"] is UP for p in peers
    )
    assert ("SlurmctldDown" in names(result)) is not contradicting
    blind = {c.instance for c in result.evaluation.active if c.alertname == "SlurmMonitorBlind"}
    # never a page and a blindness alert about the same service at once
    assert not ("SlurmctldDown" in names(result) and "slurmctld" in blind)
    assert ("slurmctld" in blind) is (contradicting and held_for >= PARAMS.blind_after)


def test_in_the_engine_a_firing_down_resolves_once_a_peer_sees_up(tmp_path):
    """A replica that paged alone (its peer's view stale) resolves its Down when the peer's
    fresh view says up: the evidence says the service is up."""
    views: list[list[PeerSight]] = [[]]
    from monitor.ha.peer_gate import PeerGate

    peer_gate = PeerGate(lambda: PARAMS, lambda cluster: views[0])
    eng = engine(tmp_path, gate=peer_gate)
    eng.on_round(CUT_OFF, [], T0)
    assert "SlurmctldDown" in {a.alertname for a in eng.firing()}
    views[0] = [sight()]
    eng.on_round(CUT_OFF, [], T0 + dt.timedelta(seconds=2))
    assert "SlurmctldDown" not in {a.alertname for a in eng.firing()}
    assert peer_gate.withheld_now() >= {("prod", "SlurmctldDown")}
    eng.on_round(CUT_OFF, [], T0 + dt.timedelta(seconds=13))
    assert "SlurmMonitorBlind" in {a.alertname for a in eng.firing()}


def test_a_down_held_by_blindness_is_released_when_a_fresh_peer_sees_up(tmp_path):
    """Both replicas paged an outage; then replica a went blind (its munge broke) while it
    lasted. Its engine holds SlurmctldDown (it cannot see the end), and held, the alert was
    re-posted as firing after replica b had resolved it: the Alertmanager takes the latest
    post and paged the ended outage again. A fresh peer view that sees slurmctld up
    answers what a cannot see: the hold is released and a resolves too."""
    from monitor.ha.peer_gate import PeerGate

    views: list[list[PeerSight]] = [[]]
    eng = engine(tmp_path, gate=PeerGate(lambda: PARAMS, lambda cluster: views[0]))
    down = status(ctl1=DOWN, ctl2=DOWN)
    eng.on_round(down, [], T0)
    assert "SlurmctldDown" in {a.alertname for a in eng.firing()}
    blind = status(blind="auth", since=T0 + dt.timedelta(seconds=2))
    eng.on_round(blind, [], T0 + dt.timedelta(seconds=2))
    assert "SlurmctldDown" in {a.alertname for a in eng.firing()}  # alone: held
    views[0] = [sight(age=5.0)]  # stale: still nobody knows
    eng.on_round(blind, [], T0 + dt.timedelta(seconds=4))
    assert "SlurmctldDown" in {a.alertname for a in eng.firing()}
    views[0] = [sight(ctl=DOWN, ctl2=DOWN)]  # b sees it still down: held, not released
    eng.on_round(blind, [], T0 + dt.timedelta(seconds=6))
    assert "SlurmctldDown" in {a.alertname for a in eng.firing()}
    views[0] = [sight()]  # b sees slurmctld answer again
    eng.on_round(blind, [], T0 + dt.timedelta(seconds=8))
    assert "SlurmctldDown" not in {a.alertname for a in eng.firing()}
