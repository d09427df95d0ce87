"""A probe failure is logged when it starts or its reason changes, and when it ends; never
every round."""

from __future__ import annotations

import datetime as dt
import time

from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from monitor.daemon import Daemon
from monitor.probe_failures import Change, ProbeFailures, log_changes
from monitor.probes.base import ProbeResult
from monitor.reasons import Reason
from tests.support.daemon_round import config
from tests.support.fakes import FakeRunner

T0 = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
NO_CONF = "scontrol ping: a Slurm configuration file does not exist (/etc/slurm/slurm.conf)"


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def result(probe: str, t: float, reason: Reason | None = None, msg: str = ""):
    return ProbeResult(probe, at(t), 0.1, None, reason, msg)


def test_a_failure_is_reported_once_with_its_reason_and_message():
    failures = ProbeFailures()
    (change,) = failures.update({"ping": result("ping", 0, Reason.COMMAND_FAILED, NO_CONF)})
    assert change.change is Change.FAILED
    assert (change.probe, change.reason, change.message) == (
        "ping",
        Reason.COMMAND_FAILED,
        NO_CONF,
    )
    assert change.previous is None
    for t in (10, 20, 30):
        assert (
            failures.update({"ping": result("ping", t, Reason.COMMAND_FAILED, NO_CONF)})
            == []
        )
    assert failures.failing == {"ping": Reason.COMMAND_FAILED}


def test_a_new_reason_is_a_new_report_naming_the_old_one():
    failures = ProbeFailures()
    failures.update({"ping": result("ping", 0, Reason.TIMEOUT)})
    (change,) = failures.update({"ping": result("ping", 10, Reason.AUTH, "munge")})
    assert change.change is Change.FAILED
    assert (change.reason, change.previous, change.message) == (
        Reason.AUTH,
        Reason.TIMEOUT,
        "munge",
    )
    assert change.failing_since == at(0)  # still the same outage of the probe


def test_recovery_is_reported_once_with_how_long_it_failed():
    failures = ProbeFailures()
    failures.update({"sdiag": result("sdiag", 0, Reason.TIMEOUT)})
    failures.update({"sdiag": result("sdiag", 10, Reason.UNREACHABLE)})
    (change,) = failures.update({"sdiag": result("sdiag", 25)})
    assert change.change is Change.RECOVERED
    assert change.previous is Reason.UNREACHABLE
    assert (change.at - change.failing_since).total_seconds() == 25
    assert failures.update({"sdiag": result("sdiag", 35)}) == []
    assert failures.failing == {}


def test_a_result_carried_over_from_an_earlier_round_changes_nothing():
    failures = ProbeFailures()
    failures.update({"show_config": result("show_config", 0, Reason.TIMEOUT)})
    # show_config was not run again this round: its old failure is still in the results
    # (the same result object as before, started at the same time).
    assert (
        failures.update(
            {
                "show_config": result("show_config", 0, Reason.TIMEOUT),
                "ping": result("ping", 10),
            }
        )
        == []
    )


def test_probes_are_tracked_apart():
    failures = ProbeFailures()
    changes = failures.update(
        {
            "ping": result("ping", 0, Reason.TIMEOUT),
            "sdiag": result("sdiag", 0, Reason.PARSE),
        }
    )
    assert [(c.probe, c.reason) for c in changes] == [
        ("ping", Reason.TIMEOUT),
        ("sdiag", Reason.PARSE),
    ]
    (change,) = failures.update(
        {"ping": result("ping", 10), "sdiag": result("sdiag", 10, Reason.PARSE)}
    )
    assert (change.probe, change.change) == ("ping", Change.RECOVERED)


def test_the_log_lines_carry_cluster_probe_reason_and_message():
    failures = ProbeFailures()
    with capture_logs() as logs:
        log_changes(
            "prod",
            failures.update({"ping": result("ping", 0, Reason.COMMAND_FAILED, NO_CONF)}),
        )
        log_changes("prod", failures.update({"ping": result("ping", 30)}))
    assert logs == [
        {
            "event": "probe.failed",
            "log_level": "warning",
            "cluster": "prod",
            "probe": "ping",
            "reason": "command_failed",
            "message": NO_CONF,
            "previous_reason": None,
        },
        {
            "event": "probe.recovered",
            "log_level": "info",
            "cluster": "prod",
            "probe": "ping",
            "previous_reason": "command_failed",
            "failed_for_s": 30.0,
        },
    ]


def _sdiag_results(daemon: Daemon, count: int) -> None:
    """Run rounds until ``count`` more sdiag results have reached a round: sdiag is a slow
    probe, whose result arrives in whichever round follows its run."""
    prober = daemon._clusters["prod"].prober  # noqa: SLF001
    seen: set[dt.datetime] = set()
    deadline = time.monotonic() + 10
    while len(seen) < count:
        assert time.monotonic() < deadline, "sdiag results did not arrive"
        assert daemon.cycle("prod") is not None
        latest = prober._latest.get("sdiag")  # noqa: SLF001
        if latest is not None:
            seen.add(latest.started_at)
        time.sleep(0.01)


def test_the_daemon_logs_a_failing_probe_once_across_rounds_and_its_recovery():
    runner = FakeRunner()
    runner.timeouts.add("sdiag")
    daemon = Daemon(config(), CollectorRegistry(), run=runner)
    try:
        with capture_logs() as logs:
            _sdiag_results(daemon, 4)
            runner.timeouts.discard("sdiag")
            _sdiag_results(daemon, 4)  # the first may still be a timed-out run's
    finally:
        daemon.stop(wait=False)
    probe_logs = [e for e in logs if e["event"] in ("probe.failed", "probe.recovered")]
    assert [(e["event"], e["probe"]) for e in probe_logs] == [
        ("probe.failed", "sdiag"),
        ("probe.recovered", "sdiag"),
    ]
    assert probe_logs[0]["reason"] == "timeout"
    assert probe_logs[0]["message"].startswith("sdiag timed out after")
