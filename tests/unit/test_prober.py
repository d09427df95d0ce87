"""The prober's rounds with a fake runner and a fake clock: slow probes, probes slower
than the interval, timeouts. Commands answer from recorded 22.05 output; a probe's
slowness is a gate the test opens, so nothing depends on the machine's speed."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from monitor.config import ClusterConfig, MonitorSettings
from monitor.prober import ClusterProber, observe_once
from monitor.reasons import Reason
from tests.support.fakes import FakeClock, FakeRunner, recorded


@pytest.fixture
def pool():
    with ThreadPoolExecutor(max_workers=8) as executor:
        yield executor


def make(pool, runner: FakeRunner, clock: FakeClock) -> ClusterProber:
    cluster = ClusterConfig(name="prod", accounting=False)
    return ClusterProber(cluster, MonitorSettings(), pool, run=runner, clock=clock,
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
