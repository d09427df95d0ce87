"""The prober's rounds with a fake runner and a fake clock: slow probes, probes slower
than the interval, timeouts. Commands answer from recorded 22.05 output; a probe's
slowness is a gate the test opens, so nothing depends on the machine's speed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from monitor.config import ClusterConfig, MonitorSettings, Thresholds
from monitor.observation import Condition
from monitor.prober import ClusterProber, observe_once
from monitor.reasons import Reason
from monitor.verdict import ProbeRound, evaluate
from tests.support.fakes import FakeClock, FakeRunner, recorded, wait_for


@pytest.fixture
def pool():
    with ThreadPoolExecutor(max_workers=8) as executor:
        yield executor


def make(pool, runner: FakeRunner, clock: FakeClock, **settings) -> ClusterProber:
    cluster = ClusterConfig(name="prod", accounting=False)
    return ClusterProber(cluster, MonitorSettings(**settings), pool, run=runner, clock=clock,
                         local_host="monitor")


def jobs_submitted(prober_round) -> int | None:
    result = prober_round.results.get("sdiag")
    if result is None or result.data is None:
        return None
    return result.data.to_dict()["statistics"].get("jobs_submitted")


def test_recorded_sdiag_says_jobs_submitted_so_runs_can_be_told_apart():
    assert "Jobs submitted: 0" in recorded("sdiag")


def test_a_round_does_not_wait_for_a_slow_probe(pool):
    runner, clock = FakeRunner(), FakeClock()
    prober = make(pool, runner, clock)
    runner.hold("sdiag")
    rnd = prober.round()  # returns while sdiag is held
    assert rnd.results["ping"].ok
    assert "sdiag" not in rnd.results
    runner.release("sdiag")


def test_a_slow_probe_that_finished_between_rounds_is_used_by_the_next(pool):
    """Issue 12 #4: sdiag answering later than ping was replaced before it was read."""
    runner, clock = FakeRunner(), FakeClock()
    prober = make(pool, runner, clock)
    seen = []
    for _ in range(5):
        runner.hold("sdiag")
        seen.append(jobs_submitted(prober.round()))
        runner.started["sdiag"].wait(5)
        runner.release("sdiag")  # answers after its round returned
        _wait_idle(prober)  # done, not yet read by any round
        clock.tick(10)
        seen.append(jobs_submitted(prober.round()))
        _wait_idle(prober)
    # Run k's answer is in the round after it, and none is replaced unread by a newer
    # run that happened to finish during that round (run 10 is still waiting).
    assert seen == [None, 1, 2, 3, 4, 5, 6, 7, 8, 9]


def test_a_probe_slower_than_the_interval_is_never_run_twice_at_once(pool):
    runner, clock = FakeRunner(), FakeClock()
    prober = make(pool, runner, clock)
    runner.hold("sdiag")
    for _ in range(4):  # four rounds, 10 s apart, while one sdiag hangs
        rnd = prober.round()
        assert rnd.results["ping"].ok
        clock.tick(10)
    assert runner.runs["sdiag"] == 1
    runner.release("sdiag")
    _wait_idle(prober)
    runner.hold("sdiag")  # the next run is slow too: this round can only show run 1
    assert jobs_submitted(prober.round()) == 1  # its answer arrives when it is done
    runner.release("sdiag")


def test_a_timeout_is_a_result_with_its_reason(pool):
    runner, clock = FakeRunner(), FakeClock()
    runner.timeouts.add("ping")
    prober = make(pool, runner, clock)
    rnd = prober.round(wait_slow=True)
    assert rnd.results["ping"].reason is Reason.TIMEOUT
    assert "timed out" in rnd.results["ping"].message
    assert rnd.results["sdiag"].ok


def test_a_late_show_config_still_teaches_the_topology(pool):
    runner, clock = FakeRunner(), FakeClock()
    prober = make(pool, runner, clock)
    assert prober.topology.controllers == ()
    runner.hold("show")
    prober.round()
    runner.release("show")
    _wait_idle(prober)
    clock.tick(10)
    prober.round()
    assert [h for h, _ in prober.topology.controllers] == ["ctl1", "ctl2"]


# -- who serves when ping names a backup: the controller RPCs decide, fresh ------------------

CUT = "22.05-primary-unreachable"  # ping: ctl1 DOWN, ctl2 UP; RPCs: "standby mode" (12 s)
KILLED = "22.05-primary-killed-before-takeover"  # ping: ctl1 DOWN (refused), ctl2 UP


def ctl(rnd: ProbeRound):
    return evaluate(rnd, Thresholds()).services["slurmctld"]


def primed(pool, runner: FakeRunner, clock: FakeClock, **settings) -> ClusterProber:
    """A prober whose last sdiag and show config answered while the primary served."""
    prober = make(pool, runner, clock, **settings)
    assert ctl(prober.round(wait_slow=True)).condition is Condition.OK
    clock.tick(10)
    return prober


def round_waiting_on_sdiag(
    prober: ClusterProber, runner: FakeRunner, meanwhile: Callable[[], None] = lambda: None
) -> ProbeRound:
    """A slurmctld round whose sdiag is held: once the round is blocked on it (its
    ``concurrent.futures.wait`` has put a waiter on that run's future; the round's wait for
    fast probes never includes it), ``meanwhile`` runs, then every held command answers."""

    def waiting() -> bool:
        future = prober._inflight.get("sdiag")  # noqa: SLF001 - the test's sync point
        return future is not None and bool(future._waiters)  # noqa: SLF001

    with ThreadPoolExecutor(max_workers=1) as own:
        pending = own.submit(prober.round, "slurmctld")
        assert runner.started["sdiag"].wait(5)
        wait_for(waiting, 5)  # not on the answer from before the fault
        meanwhile()
        for cmd in list(runner.gates):
            runner.release(cmd)
        return pending.result(timeout=10)


def test_a_primary_cut_off_is_split_brain_from_the_first_round_not_a_failover(pool):
    """The backup answers ping but stays in standby while the primary's heartbeat goes on
    (a cut link): the last sdiag, from before the cut, succeeded and must not make this
    round a failover. The round waits for the RPCs in flight and reads their "standby"."""
    runner, clock = FakeRunner(), FakeClock()
    prober = primed(pool, runner, clock)
    runner.situation.update(ping=CUT, sdiag=CUT, show=CUT)
    runner.hold("sdiag")
    runner.hold("show")
    rnd = round_waiting_on_sdiag(prober, runner)
    svc = ctl(rnd)
    assert svc.condition is Condition.SPLIT_BRAIN_PROTECTION and svc.active is None
    assert rnd.results["sdiag"].reason is Reason.STANDBY
    assert rnd.observed_at == clock.now  # as of its own ping: the RPCs failed
    assert runner.runs["ping"] == 2  # no second ping: the first one stands


def test_a_takeover_is_a_failover_once_the_rpcs_succeed_as_of_a_second_ping(pool):
    """A killed primary: ping names the backup at once, the RPCs block until it has taken
    control and then succeed. The round is dated by a ping after their answer."""
    runner, clock = FakeRunner(), FakeClock()
    prober = primed(pool, runner, clock)
    started = clock.now
    runner.situation["ping"] = KILLED
    runner.hold("sdiag")
    rnd = round_waiting_on_sdiag(prober, runner, lambda: clock.tick(9))  # the takeover
    assert ctl(rnd).condition is Condition.FAILOVER
    assert ctl(rnd).active is not None and ctl(rnd).active.hostname == "ctl2"
    assert rnd.results["sdiag"].ok and rnd.results["sdiag"].started_at == started
    assert rnd.observed_at == started + dt.timedelta(seconds=9)
    assert runner.runs["ping"] == 3  # the round's ping and the one after the RPCs


def test_a_link_healed_while_the_round_waits_is_the_primary_serving_again(pool):
    """The RPCs of a cut round succeed because the primary came back meanwhile: the first
    ping (primary DOWN) is stale, and the second says the primary serves."""
    runner, clock = FakeRunner(), FakeClock()
    prober = primed(pool, runner, clock)
    runner.situation["ping"] = CUT
    runner.hold("sdiag")

    def heal() -> None:
        clock.tick(5)
        runner.situation["ping"] = "22.05-healthy"

    rnd = round_waiting_on_sdiag(prober, runner, heal)
    assert ctl(rnd).condition is Condition.OK
    assert rnd.observed_at == clock.now


def test_the_backup_dying_while_the_round_waits_ends_the_round_as_a_new_ping_sees_it(pool):
    """The primary killed, the backup 4 s later, before its takeover (issue 12): the round
    waiting for the RPCs pings again every interval, and the ping that finds no controller
    ends it, dated there. Waiting blind for the RPCs (~12 s) counted those seconds up."""
    runner, clock = FakeRunner(), FakeClock()
    prober = primed(pool, runner, clock, interval_seconds=0.05)
    runner.situation["ping"] = KILLED
    runner.hold("sdiag")
    runner.hold("show")

    with ThreadPoolExecutor(max_workers=1) as own:
        pending = own.submit(prober.round, "slurmctld")
        assert runner.started["sdiag"].wait(5)
        wait_for(lambda: prober._inflight.get("sdiag") is not None)  # noqa: SLF001
        runner.situation["ping"] = "22.05-both-killed"  # the backup killed too
        rnd = pending.result(timeout=10)  # while the RPCs are still held
        runner.release("sdiag")
        runner.release("show")
    assert ctl(rnd).condition is Condition.NO_CONTROLLER  # as the ping during the wait saw
    assert rnd.results["sdiag"].ok  # the RPCs' answer is the next round's to read


def test_a_cut_right_after_rpcs_that_answered_late_still_waits_for_this_rounds_runs(pool):
    """The usual healthy round: sdiag and show config answer just after the round's ping,
    so the next round carries their answer. If that next round is the first after the
    cut, the carried success is from before it, and this round's runs are awaited."""
    runner, clock = FakeRunner(), FakeClock()
    prober = primed(pool, runner, clock)
    runner.hold("sdiag")
    runner.hold("show")
    assert ctl(prober.round("slurmctld")).condition is Condition.OK
    runner.release("sdiag")  # both answer after their round returned: carried next time
    runner.release("show")
    _wait_idle(prober)
    clock.tick(10)
    runner.situation.update(ping=CUT, sdiag=CUT, show=CUT)
    runner.hold("sdiag")
    runner.hold("show")
    rnd = round_waiting_on_sdiag(prober, runner)
    assert ctl(rnd).condition is Condition.SPLIT_BRAIN_PROTECTION
    assert rnd.results["sdiag"].reason is Reason.STANDBY


def test_a_standby_answer_is_overtaken_by_the_takeover_in_the_next_round(pool):
    """The takeover was slower than Slurm's client retries: the first RPCs say standby.
    The next round waits for its own run, which succeeds: a failover, not a second
    split-brain round (two would be a SlurmctldDown page for a plain takeover)."""
    runner, clock = FakeRunner(), FakeClock()
    prober = primed(pool, runner, clock)
    runner.situation.update(ping=KILLED, sdiag=CUT, show=CUT)
    first = prober.round("slurmctld")  # waits for the RPCs: they say standby
    _wait_idle(prober)
    clock.tick(10)
    assert ctl(first).condition is Condition.SPLIT_BRAIN_PROTECTION
    del runner.situation["sdiag"], runner.situation["show"]  # the backup took control
    runner.hold("sdiag")
    rnd = round_waiting_on_sdiag(prober, runner)
    assert ctl(rnd).condition is Condition.FAILOVER


def test_a_backup_long_in_control_never_holds_a_round_up(pool):
    """Once the RPCs succeeded after ping named the backup, a slow sdiag (a busy backup)
    is a background result again: the round neither waits for it nor pings twice."""
    runner, clock = FakeRunner(), FakeClock()
    prober = primed(pool, runner, clock)
    runner.situation["ping"] = KILLED
    prober.round("slurmctld")
    _wait_idle(prober)
    clock.tick(10)
    assert ctl(prober.round("slurmctld")).condition is Condition.FAILOVER
    _wait_idle(prober)
    clock.tick(10)
    pings = runner.runs["ping"]
    runner.hold("sdiag")
    rnd = prober.round("slurmctld")  # returns while sdiag is held
    assert ctl(rnd).condition is Condition.FAILOVER
    assert runner.runs["ping"] == pings + 1
    runner.release("sdiag")


def test_a_primary_that_answers_never_makes_the_round_wait(pool):
    runner, clock = FakeRunner(), FakeClock()
    prober = primed(pool, runner, clock)
    runner.hold("sdiag")
    rnd = prober.round("slurmctld")  # returns while sdiag is held
    assert ctl(rnd).condition is Condition.OK
    runner.release("sdiag")


def _wait_idle(prober: ClusterProber) -> None:
    for future in list(prober._inflight.values()):  # noqa: SLF001 - the test's sync point
        future.result(timeout=10)


def test_the_one_shot_probe_uses_what_the_release_it_learnt_offers():
    """`slurm-sla probe` on 26.05: the first round teaches the release (show config), the
    second asks /readyz and `sacctmgr ping`, as the daemon's later rounds do."""
    runner = FakeRunner()
    for cmd in ("ping", "show", "sdiag", "dbdping", "cluster"):
        runner.situation[cmd] = "26.05-healthy"
    loopback = {h: "127.0.0.1:9" for h in ("ctl1", "ctl2", "dbd1", "dbd2")}  # refused
    cluster = ClusterConfig(name="prod", host_addresses=loopback)
    rnd = observe_once(cluster, MonitorSettings(), run=runner, clock=FakeClock())
    assert {"readyz", "dbd_ping"} <= set(rnd.results)
    # the first round, before the release was known, used show stats; the second, ping
    assert (runner.runs.get("stats"), runner.runs.get("dbdping")) == (1, 1)
    assert runner.runs["show"] == 2  # two rounds, no more
