"""The health state machine: thresholds, flapping, backdating, failover and failback, blind
periods, a daemon restart. Times are driven by freezegun."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from freezegun import freeze_time

from monitor.config import MonitorSettings
from monitor.health import ClusterHealth
from monitor.observation import (
    ActiveInstance,
    ClusterObservation,
    Condition,
    DaemonObservation,
    LocalProcess,
    ProbeError,
    Reason,
    ServiceObservation,
    State,
)

T0 = dt.datetime(2026, 11, 26, 10, 0, tzinfo=dt.UTC)
SETTINGS = MonitorSettings(failure_threshold=2, recovery_threshold=3)


def ctl(host: str, role: str, state: State, reason: Reason | None = None) -> DaemonObservation:
    return DaemonObservation("slurmctld", host, role, state, reason)


def observation(primary: State, backup: State, *, blind: bool = False,
                local: tuple[LocalProcess, ...] = ()) -> ClusterObservation:
    now = dt.datetime.now(dt.UTC)
    if blind:
        daemons = (ctl("ctl1", "primary", State.UNKNOWN, Reason.AUTH),
                   ctl("ctl2", "backup", State.UNKNOWN, Reason.AUTH))
        svc = ServiceObservation("slurmctld", State.UNKNOWN, Condition.BLIND, None, None)
        return ClusterObservation("prod", now, daemons, {"slurmctld": svc}, blind=True)
    daemons = (ctl("ctl1", "primary", primary, None if primary is State.UP else Reason.UNREACHABLE),
               ctl("ctl2", "backup", backup, None if backup is State.UP else Reason.UNREACHABLE))
    if primary is State.UP:
        svc = ServiceObservation("slurmctld", State.UP, Condition.OK, True, backup is State.UP,
                                 ActiveInstance("ctl1", "primary"))
    elif backup is State.UP:
        svc = ServiceObservation("slurmctld", State.UP, Condition.FAILOVER, True, False,
                                 ActiveInstance("ctl2", "backup"))
    else:
        svc = ServiceObservation("slurmctld", State.DOWN, Condition.NO_CONTROLLER, False, False)
    return ClusterObservation("prod", now, daemons, {"slurmctld": svc}, local_processes=local)


def feed(health: ClusterHealth, frozen, obs_args, seconds: float = 1.0, **kw):
    frozen.tick(dt.timedelta(seconds=seconds))
    return health.update(observation(*obs_args, **kw))


GRACE = MonitorSettings(failure_threshold=2, recovery_threshold=2, takeover_grace_seconds=10)


def healthy_with_grace(frozen) -> ClusterHealth:
    """A health at the shipped 10 s takeover grace, after three rounds of the primary
    serving (t=1..3)."""
    health = ClusterHealth("prod", GRACE, T0)
    for _ in range(3):
        feed(health, frozen, (State.UP, State.UP))
    return health


def daemon_state(health: ClusterHealth, host: str) -> State:
    return next(d.state for d in health.status().daemons if d.hostname == host)


def test_thresholds_and_backdating():
    with freeze_time(T0) as frozen:
        health = ClusterHealth("prod", SETTINGS, T0)
        for _ in range(3):
            feed(health, frozen, (State.UP, State.UP))
        assert daemon_state(health, "ctl1") is State.UP
        # first failure at T0+4s, not yet confirmed
        events = feed(health, frozen, (State.DOWN, State.UP))
        assert not events and health.pending
        assert daemon_state(health, "ctl1") is State.UP
        events = feed(health, frozen, (State.DOWN, State.UP), seconds=1)
        down = [e for e in events if e.kind == "daemon"]
        assert len(down) == 1 and down[0].new == "down" and down[0].old == "up"
        assert down[0].at == T0 + dt.timedelta(seconds=4)  # backdated to the first failure
        assert down[0].confirmed_at == T0 + dt.timedelta(seconds=5)
        assert down[0].cause == "unreachable"
        assert not health.pending
        # recovery needs 3 consecutive good probes
        feed(health, frozen, (State.UP, State.UP))
        feed(health, frozen, (State.UP, State.UP))
        assert daemon_state(health, "ctl1") is State.DOWN
        events = feed(health, frozen, (State.UP, State.UP))
        up = [e for e in events if e.kind == "daemon"]
        assert up and up[0].new == "up" and up[0].at == T0 + dt.timedelta(seconds=6)


def test_flapping_never_confirms():
    with freeze_time(T0) as frozen:
        health = ClusterHealth("prod", SETTINGS, T0)
        for _ in range(3):
            feed(health, frozen, (State.UP, State.UP))
        events = []
        for i in range(20):
            events += feed(health, frozen, (State.DOWN if i % 2 else State.UP, State.UP))
        assert not [e for e in events if e.kind == "daemon"]
        assert daemon_state(health, "ctl1") is State.UP


def test_failover_and_failback_are_counted_once_each():
    with freeze_time(T0) as frozen:
        health = ClusterHealth("prod", SETTINGS, T0)
        for _ in range(3):
            feed(health, frozen, (State.UP, State.UP))
        assert health.status().failovers_total == 0
        events = []
        for _ in range(3):
            events += feed(health, frozen, (State.DOWN, State.UP))
        failovers = [e for e in events if e.kind == "failover"]
        assert len(failovers) == 1 and failovers[0].cause == "failover"
        assert failovers[0].new == "ctl2(backup)"
        status = health.status()
        assert status.failovers_total == 1
        assert status.services["slurmctld"].active == ActiveInstance("ctl2", "backup")
        assert status.services["slurmctld"].state is State.UP  # a failover is not downtime
        events = []
        for _ in range(3):
            events += feed(health, frozen, (State.UP, State.UP))
        assert [e.cause for e in events if e.kind == "failover"] == ["failback"]
        assert health.status().failovers_total == 2


def test_full_outage_then_primary_back_is_not_a_failover():
    with freeze_time(T0) as frozen:
        health = ClusterHealth("prod", SETTINGS, T0)
        for _ in range(3):
            feed(health, frozen, (State.UP, State.UP))
        events = []
        for _ in range(3):
            events += feed(health, frozen, (State.DOWN, State.DOWN))
        svc = [e for e in events if e.kind == "service"]
        assert svc and svc[0].new == "down" and svc[0].cause == "no_controller"
        for _ in range(3):
            events += feed(health, frozen, (State.UP, State.UP))
        assert not [e for e in events if e.kind == "failover"]
        assert health.status().services["slurmctld"].state is State.UP


def test_blind_period_is_unknown_never_down():
    with freeze_time(T0) as frozen:
        health = ClusterHealth("prod", SETTINGS, T0)
        for _ in range(3):
            feed(health, frozen, (State.UP, State.UP))
        events = []
        for _ in range(5):
            events += feed(health, frozen, (State.UP, State.UP), blind=True)
        assert {e.new for e in events} == {"unknown"}
        status = health.status()
        assert status.services["slurmctld"].state is State.UNKNOWN
        assert status.services["slurmctld"].up is None
        assert all(d.state is State.UNKNOWN for d in status.daemons)


def test_process_gone_is_down_at_once_and_restart_is_recorded():
    with freeze_time(T0) as frozen:
        health = ClusterHealth("prod", SETTINGS, T0)
        p1 = LocalProcess("slurmctld", True, pid=10, start_time=1000.0)
        for _ in range(3):
            feed(health, frozen, (State.UP, State.UP), local=(p1,))
        gone = observation(State.UP, State.UP)
        daemons = (ctl("ctl1", "primary", State.DOWN, Reason.PROCESS_GONE), gone.daemons[1])
        frozen.tick(dt.timedelta(seconds=1))
        events = health.update(ClusterObservation("prod", dt.datetime.now(dt.UTC), daemons,
                                                  gone.services))
        assert [e.new for e in events if e.kind == "daemon"] == ["down"]
        p2 = LocalProcess("slurmctld", True, pid=11, start_time=2000.0)
        events = feed(health, frozen, (State.UP, State.UP), local=(p2,))
        restarts = [e for e in events if e.kind == "restart"]
        assert len(restarts) == 1 and "11" in restarts[0].cause
        assert health.status().restarts_total == {"slurmctld": 1}


def test_probe_errors_are_counted_once_per_probe_run():
    from monitor.observation import ProbeError

    health = ClusterHealth("prod", SETTINGS, T0)
    err = ProbeError("sdiag", "timeout", "sdiag did not finish", T0)
    base = observation(State.UP, State.UP)
    for i in range(3):  # the same slow sdiag result carried over three rounds
        health.update(ClusterObservation("prod", T0 + dt.timedelta(seconds=i), base.daemons,
                                         base.services, errors=(err,)))
    assert health.status().probe_errors_total == {("sdiag", "timeout"): 1}
    err2 = ProbeError("sdiag", "timeout", "again", T0 + dt.timedelta(seconds=5))
    health.update(ClusterObservation("prod", T0 + dt.timedelta(seconds=6), base.daemons,
                                     base.services, errors=(err2,)))
    assert health.status().probe_errors_total == {("sdiag", "timeout"): 2}


def test_a_no_controller_blip_during_a_takeover_is_not_an_outage():
    """Real 22.05: a ping can see both controllers DOWN while the backup takes control."""
    with freeze_time(T0) as frozen:
        health = healthy_with_grace(frozen)
        for _ in range(2):
            feed(health, frozen, (State.DOWN, State.UP))  # failover under way
        events = []
        for _ in range(3):  # 3 s of no controller answering, within the grace
            events += feed(health, frozen, (State.DOWN, State.DOWN))
        assert not [e for e in events if e.kind == "service"]
        assert health.status().services["slurmctld"].state is State.UP
        for _ in range(10):  # a real double failure: past the grace, it is an outage
            events += feed(health, frozen, (State.DOWN, State.DOWN))
        down = [e for e in events if e.kind == "service"]
        assert down and down[0].new == "down"
        # Dated from the first silent round (t=6), not from the end of the grace (t=16):
        # the grace only holds back a verdict, it does not shorten the outage.
        assert down[0].at == T0 + dt.timedelta(seconds=6)
        assert down[0].confirmed_at > T0 + dt.timedelta(seconds=15)


def test_what_the_machine_may_still_rewrite_is_reported_as_undecided():
    """A silence the takeover grace holds, and a change not yet confirmed, may still be
    dated back: the status says from when (the ledger does not vouch past it)."""
    with freeze_time(T0) as frozen:
        health = healthy_with_grace(frozen)
        assert health.status().undecided_since is None
        feed(health, frozen, (State.DOWN, State.UP))  # failover: t=4
        assert health.status().undecided_since is None  # service up either way
        feed(health, frozen, (State.DOWN, State.UP))
        for _ in range(3):  # t=6..8: silent, held by the grace
            feed(health, frozen, (State.DOWN, State.DOWN))
            assert health.status().services["slurmctld"].state is State.UP
            assert health.status().undecided_since == T0 + dt.timedelta(seconds=6)
        feed(health, frozen, (State.DOWN, State.UP))  # the backup answers: a blip
        assert health.status().undecided_since is None
        for _ in range(10):
            feed(health, frozen, (State.UP, State.UP))
        feed(health, frozen, (State.DOWN, State.DOWN))  # t=20, no backup served: a candidate
        assert health.status().undecided_since == T0 + dt.timedelta(seconds=20)
        feed(health, frozen, (State.DOWN, State.DOWN))  # confirmed, dated t=20: decided
        assert health.status().services["slurmctld"].state is State.DOWN
        assert health.status().undecided_since is None


def test_a_blind_round_inside_a_held_silence_does_not_restart_it():
    """The monitor could not see for one round in the middle of the silence: the outage,
    once the grace is outlasted, is still dated from the silence's first round."""
    with freeze_time(T0) as frozen:
        health = healthy_with_grace(frozen)
        for _ in range(2):
            feed(health, frozen, (State.DOWN, State.UP))  # the backup serves: t=4, 5
        events = []
        for _ in range(3):  # t=6..8: silent, held
            events += feed(health, frozen, (State.DOWN, State.DOWN))
        events += feed(health, frozen, (State.DOWN, State.DOWN), blind=True)  # t=9
        for _ in range(10):
            events += feed(health, frozen, (State.DOWN, State.DOWN))
        down = [e for e in events if e.kind == "service"]
        assert [e.new for e in down] == ["down"]
        assert down[0].at == T0 + dt.timedelta(seconds=6)


def test_a_confirmed_blindness_ends_a_held_silence():
    """Silent (held by the grace), then blind long enough to confirm it (unknown from the
    first blind round), then silent past the grace: the outage is dated from the first
    silent round after the blindness. Dated from the held silence before it, the ledger
    (which never rewrites what it holds) recorded the whole blind stretch as down."""
    with freeze_time(T0) as frozen:
        health = healthy_with_grace(frozen)
        feed(health, frozen, (State.DOWN, State.UP))  # t=4: the backup serves
        events = feed(health, frozen, (State.DOWN, State.DOWN))  # t=5: silent, held
        for _ in range(9):  # t=6..14: blind, confirmed unknown from t=6
            events += feed(health, frozen, (State.DOWN, State.DOWN), blind=True)
        for _ in range(5):  # t=15..19: silent, the grace long over
            events += feed(health, frozen, (State.DOWN, State.DOWN))
        changes = [(e.new, e.at) for e in events if e.kind == "service"]
        assert changes == [
            ("unknown", T0 + dt.timedelta(seconds=6)),
            ("down", T0 + dt.timedelta(seconds=15)),
        ]


def test_a_silence_held_while_unknown_does_not_reach_over_the_blindness_after_it():
    """Blind (unknown), one silent round held by the grace (a backup served before the
    blindness), blind again, then silent past the grace: the outage is dated from the
    silence after the second blind stretch, not from the held round before it (the
    service was unknown all along, and the blind rounds were counted down)."""
    with freeze_time(T0) as frozen:
        health = healthy_with_grace(frozen)
        feed(health, frozen, (State.DOWN, State.UP))  # t=4: the backup serves
        events = []
        for _ in range(2):  # t=5, 6: blind, unknown from t=5
            events += feed(health, frozen, (State.DOWN, State.DOWN), blind=True)
        events += feed(health, frozen, (State.DOWN, State.DOWN))  # t=7: silent, held
        for _ in range(7):  # t=8..14: blind
            events += feed(health, frozen, (State.DOWN, State.DOWN), blind=True)
        for _ in range(3):  # t=15..17: silent, the grace over
            events += feed(health, frozen, (State.DOWN, State.DOWN))
        changes = [(e.new, e.at) for e in events if e.kind == "service"]
        assert changes == [
            ("unknown", T0 + dt.timedelta(seconds=5)),
            ("down", T0 + dt.timedelta(seconds=15)),
        ]


def test_no_grace_once_the_primary_serves_again():
    with freeze_time(T0) as frozen:
        health = ClusterHealth("prod", SETTINGS, T0)
        for _ in range(3):
            feed(health, frozen, (State.UP, State.UP))
        for _ in range(3):
            feed(health, frozen, (State.DOWN, State.UP))  # failover
        for _ in range(3):
            feed(health, frozen, (State.UP, State.UP))  # failback: the takeover is over
        events = []
        for _ in range(2):
            events += feed(health, frozen, (State.DOWN, State.DOWN))
        assert [e.new for e in events if e.kind == "service"] == ["down"]


def test_no_grace_when_no_backup_was_serving():
    with freeze_time(T0) as frozen:
        health = ClusterHealth("prod", SETTINGS, T0)
        for _ in range(3):
            feed(health, frozen, (State.UP, State.UP))
        events = []
        for _ in range(2):
            events += feed(health, frozen, (State.DOWN, State.DOWN))
        assert [e.new for e in events if e.kind == "service"] == ["down"]


def test_retune_applies_new_thresholds_and_keeps_the_state():
    with freeze_time(T0) as frozen:
        health = ClusterHealth("prod", SETTINGS, T0)
        for _ in range(3):
            feed(health, frozen, (State.UP, State.UP))
        health.retune(MonitorSettings(failure_threshold=1, recovery_threshold=1))
        assert daemon_state(health, "ctl1") is State.UP
        events = feed(health, frozen, (State.DOWN, State.UP))
        assert [e.new for e in events if e.kind == "daemon"] == ["down"]


def test_a_longer_grace_reloaded_during_an_outage_does_not_end_it():
    """The silence after a failover outlasted the 10 s grace (down, dated from its first
    round); a reload then lengthens the grace to 60 s while no controller answers. The
    outage goes on: the grace holds back a verdict not yet reached, it does not undo one
    (the silent rounds after the reload were held as a takeover: up, the outage ended)."""
    with freeze_time(T0) as frozen:
        health = healthy_with_grace(frozen)
        feed(health, frozen, (State.DOWN, State.UP))  # t=4: the backup serves
        events = []
        for _ in range(14):  # t=5..18: silent past the grace
            events += feed(health, frozen, (State.DOWN, State.DOWN))
        assert health.status().services["slurmctld"].state is State.DOWN
        health.retune(replace(GRACE, takeover_grace_seconds=60))
        for _ in range(5):  # t=19..23: still silent
            events += feed(health, frozen, (State.DOWN, State.DOWN))
        assert [e.new for e in events if e.kind == "service"] == ["down"]
        assert health.status().services["slurmctld"].state is State.DOWN


def test_a_takeover_blip_that_ends_within_the_grace_leaves_no_trace():
    with freeze_time(T0) as frozen:
        health = healthy_with_grace(frozen)
        feed(health, frozen, (State.DOWN, State.UP))
        events = []
        for _ in range(2):
            events += feed(health, frozen, (State.DOWN, State.DOWN))
        for _ in range(3):
            events += feed(health, frozen, (State.DOWN, State.UP))  # the backup serves
        for _ in range(12):  # a later, real outage: dated from its own first silent round
            events += feed(health, frozen, (State.DOWN, State.DOWN))
        down = [e for e in events if e.kind == "service"]
        assert [e.new for e in down] == ["down"]
        assert down[0].at == T0 + dt.timedelta(seconds=10)


def test_a_round_of_one_lane_leaves_the_other_services_alone():
    """Each service has its own lane of rounds; a slurmdbd round carries slurmctld's older
    evidence (or none), which must neither count again nor turn it unknown."""
    with freeze_time(T0) as frozen:
        health = ClusterHealth("prod", SETTINGS, T0)
        for _ in range(3):
            feed(health, frozen, (State.UP, State.UP))
        assert daemon_state(health, "ctl1") is State.UP
        frozen.tick(dt.timedelta(seconds=1))
        down = observation(State.DOWN, State.DOWN)
        for _ in range(3):  # slurmctld's evidence, as slurmdbd's lane rounds would carry it
            assert health.update(down, ("slurmdbd",)) == []
        assert not health.pending_for(("slurmctld",))
        assert daemon_state(health, "ctl1") is State.UP
        nothing = ClusterObservation("prod", down.observed_at, (), {})
        assert health.update(nothing, ("slurmdbd",)) == []  # unlisted, but not its lane
        assert daemon_state(health, "ctl1") is State.UP
        assert health.update(down, ("slurmctld",)) == [] and health.pending_for(("slurmctld",))


def test_a_failback_outage_seen_by_one_long_ping_is_an_outage():
    """Slurm 24.11+: a failback leaves both controllers silent for ~28 s; ping waits
    MessageTimeout for each (20 s) and says DOWN/DOWN. That one answer saw 20 s of
    silence, past the takeover grace: an outage, dated from the ping's start."""
    settings = MonitorSettings(interval_seconds=2, failure_threshold=2, recovery_threshold=2,
                               takeover_grace_seconds=10)
    with freeze_time(T0) as frozen:
        health = ClusterHealth("prod", settings, T0)
        for _ in range(3):
            feed(health, frozen, (State.DOWN, State.UP))  # the backup serves
        frozen.tick(dt.timedelta(seconds=2))
        silent = observation(State.DOWN, State.DOWN)
        long_ping = replace(silent, services={"slurmctld": replace(
            silent.services["slurmctld"], evidence_seconds=20.0)})
        down = [e for e in health.update(long_ping) if e.kind == "service"]
        assert [e.new for e in down] == ["down"]
        assert down[0].at == T0 + dt.timedelta(seconds=5)
        # The same silence, answered at once (a killed pair): within the grace, held back.
        health2 = ClusterHealth("prod", settings, T0)
        for _ in range(3):
            health2.update(observation(State.DOWN, State.UP))
        assert not [e for e in health2.update(silent) if e.kind == "service"]


def test_silent_rounds_held_by_the_grace_count_once_it_is_outlasted():
    settings = MonitorSettings(interval_seconds=1, failure_threshold=3, recovery_threshold=2,
                               takeover_grace_seconds=4)
    with freeze_time(T0) as frozen:
        health = ClusterHealth("prod", settings, T0)
        for _ in range(2):
            feed(health, frozen, (State.DOWN, State.UP))  # the backup serves (t=1, 2)
        events = []
        for _ in range(4):  # t=3..6: silent, held by the grace (until t=6)
            events += feed(health, frozen, (State.DOWN, State.DOWN))
        assert not [e for e in events if e.kind == "service"]
        events += feed(health, frozen, (State.DOWN, State.DOWN))  # t=7: past the grace
        down = [e for e in events if e.kind == "service"]
        assert [e.new for e in down] == ["down"]  # at once: the held rounds counted
        assert down[0].at == T0 + dt.timedelta(seconds=3)
        assert down[0].confirmed_at == T0 + dt.timedelta(seconds=7)


def test_a_long_silent_ping_while_the_primary_served_is_the_takeover_window():
    """22.05, primary frozen: ping waits 10 s for it, and the backup, not yet in control,
    may not answer either. The takeover window, as when the primary is killed: not an
    outage unless the silence is seen again."""
    settings = MonitorSettings(interval_seconds=2, failure_threshold=2, recovery_threshold=2,
                               takeover_grace_seconds=10)
    with freeze_time(T0) as frozen:
        health = ClusterHealth("prod", settings, T0)
        for _ in range(3):
            feed(health, frozen, (State.UP, State.UP))  # the primary serves
        frozen.tick(dt.timedelta(seconds=2))
        silent = observation(State.DOWN, State.DOWN)
        long_ping = replace(silent, services={"slurmctld": replace(
            silent.services["slurmctld"], evidence_seconds=10.0)})
        assert not [e for e in health.update(long_ping) if e.kind == "service"]
        events = feed(health, frozen, (State.DOWN, State.UP))  # the backup took over
        assert not [e for e in events if e.kind == "service" and e.new == "down"]


def _split_brain(standby_since: dt.datetime) -> ClusterObservation:
    """The primary cut off: ctl1 silent, ctl2 answering ping in standby, and an RPC that set
    out at ``standby_since`` refused with "standby mode"."""
    now = dt.datetime.now(dt.UTC)
    daemons = (ctl("ctl1", "primary", State.DOWN, Reason.UNREACHABLE),
               ctl("ctl2", "backup", State.UP, Reason.STANDBY))
    svc = ServiceObservation("slurmctld", State.DOWN, Condition.SPLIT_BRAIN_PROTECTION, False,
                             False, None, Reason.STANDBY)
    refused = ProbeError("sdiag", Reason.STANDBY, "Slurm backup controller in standby mode",
                         standby_since)
    return ClusterObservation("prod", now, daemons, {"slurmctld": svc}, errors=(refused,))


def _slurmdbd_served() -> ClusterObservation:
    now = dt.datetime.now(dt.UTC)
    dbd = ServiceObservation("slurmdbd", State.UP, Condition.OK, True, None,
                             ActiveInstance("dbd1", "primary"))
    return ClusterObservation("prod", now, (), {"slurmdbd": dbd})


def test_split_brain_is_dated_from_the_rpc_the_standby_backup_refused():
    """A cut-off primary: rounds read the RPCs' last answer (from before the cut) as a
    failover until their "standby mode" comes, ~12 s after the RPC set out. The outage
    begins where that RPC did, not at the round that read it; never before the state the
    service was in."""
    with freeze_time(T0) as frozen:
        health = healthy_with_grace(frozen)  # t=1..3 the primary serves
        cut = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)  # t=4: the sdiag sets out
        for _ in range(6):  # t=4..9: ping names the backup, the old sdiag still reads OK
            feed(health, frozen, (State.DOWN, State.UP))
            health.update(_slurmdbd_served(), ("slurmdbd",))  # its lane's rounds meanwhile
        frozen.tick(dt.timedelta(seconds=1))
        assert not health.update(_split_brain(cut))
        frozen.tick(dt.timedelta(seconds=1))
        events = health.update(_split_brain(cut))
        (down,) = [e for e in events if e.kind == "service"]
        assert down.new == "down" and down.cause == "split_brain_protection"
        assert down.at == cut == T0 + dt.timedelta(seconds=4)
        assert down.confirmed_at == T0 + dt.timedelta(seconds=11)

        # A standby answer from before the primary last served (left over from an
        # earlier incident) reaches back no further than that round.
        health = healthy_with_grace(frozen)
        last_served = dt.datetime.now(dt.UTC)
        frozen.tick(dt.timedelta(seconds=1))
        health.update(_split_brain(T0 - dt.timedelta(hours=1)))
        frozen.tick(dt.timedelta(seconds=1))
        events = health.update(_split_brain(T0 - dt.timedelta(hours=1)))
        (down,) = [e for e in events if e.kind == "service"]
        assert down.at == last_served
