"""`slurm-sla demo --ha`, the pure parts: the story, how pages and duplicates are counted
from what the receiver got, the merged unknown time, the replicas' config and the
Alertmanager config made from it, and the one-line refusal without Alertmanager (the
end-to-end run is tests/integration/test_demo_ha.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.alerting.amconfig import generate
from monitor.alerting.settings import GROUP_LABELS
from monitor.cli import main
from monitor.config import parse_config
from monitor.demo_ha import (
    GROUP_INTERVAL_SECONDS,
    GROUP_WAIT_SECONDS,
    PROBE_INTERVAL_SECONDS,
    replica_config,
)
from monitor.demo_ha_story import (
    BLIND_SITUATION,
    HA_SCRIPT,
    Notice,
    Outcome,
    Page,
    expected_pages,
    maintenance_window,
    notices_of,
    situation_for,
    step_lengths,
    tally,
    unknown_seconds,
)
from monitor.demo_watch import daemon_states, observes, sees_down
from monitor.ledger.sla import Steps
from monitor.ledger.timebase import US


def n(fingerprint: str, status: str, name: str = "SlurmctldDown") -> Notice:
    return Notice(fingerprint, name, "slurmctld", status, "http://am1")


def test_one_firing_and_one_resolved_notice_per_alert_is_one_page_each():
    got = tally([n("x", "firing"), n("y", "firing", "SlurmctldFailover"), n("x", "resolved"),
                 n("y", "resolved", "SlurmctldFailover")])  # fmt: skip
    assert (got.pages, got.duplicate_pages, got.resolved, got.still_firing) == (2, 0, 2, ())


def test_a_second_firing_notice_before_the_resolve_is_a_duplicate_page():
    got = tally([n("x", "firing"), n("x", "firing"), n("x", "resolved"), n("x", "resolved")])
    assert (got.pages, got.duplicate_pages, got.resolved) == (2, 1, 2)


def test_a_firing_notice_after_the_resolve_is_a_new_page_and_left_firing():
    """The stale "firing" a late peer sends after the first peer's resolved: not hidden
    as a duplicate; it makes pages exceed the story's incidents."""
    got = tally([n("x", "firing"), n("x", "resolved"), n("x", "firing")])
    assert (got.pages, got.duplicate_pages, got.still_firing) == (2, 0, ("SlurmctldDown",))


def test_notices_are_read_from_an_alertmanager_webhook_payload():
    payload = {
        "version": "4",
        "status": "firing",
        "externalURL": "http://127.0.0.1:9093",
        "alerts": [
            {"status": "firing", "fingerprint": "ab12",
             "labels": {"alertname": "SlurmMonitorBlind", "service": "slurmdbd"}},
            {"status": "resolved", "fingerprint": "cd34",
             "labels": {"alertname": "SlurmctldDown", "service": "slurmctld"}},
        ],
    }  # fmt: skip
    assert notices_of(payload) == [
        Notice("ab12", "SlurmMonitorBlind", "slurmdbd", "firing", "http://127.0.0.1:9093"),
        Notice("cd34", "SlurmctldDown", "slurmctld", "resolved", "http://127.0.0.1:9093"),
    ]
    assert notices_of({"alerts": None}) == []


def test_unknown_seconds_count_blind_and_unmonitored_time():
    steps = Steps(
        [0, 2 * US, 5 * US, 6 * US, 10 * US],
        ["up", "unknown", "down", "unmonitored"],
        ["ok", "munge", "both down", "monitor not running"],
        [False] * 4,
    )
    assert unknown_seconds(steps) == 3 + 4
    assert unknown_seconds(Steps([0, US], ["up"], ["ok"], [False])) == 0


def test_the_story_pages_four_incidents_and_kills_then_restarts_replica_a():
    assert sum(s.share for s in HA_SCRIPT) == pytest.approx(1.0)
    assert expected_pages(HA_SCRIPT) == [
        Page("SlurmMonitorBlind", "slurmctld"),
        Page("SlurmMonitorBlind", "slurmdbd"),
        Page("SlurmctldFailover", "slurmctld"),
        Page("SlurmctldDown", "slurmctld"),
    ]
    kills = [i for i, s in enumerate(HA_SCRIPT) if s.kill == "a"]
    restarts = [i for i, s in enumerate(HA_SCRIPT) if s.restart == "a"]
    assert len(kills) == 1 and len(restarts) == 1 and kills[0] < restarts[0]
    assert HA_SCRIPT[kills[0]].situation == "both-killed"  # in the middle of an outage
    # the blindness is one host's: the other replica sees the cluster as it is
    blind = next(s for s in HA_SCRIPT if s.blind)
    assert situation_for(blind, "a") == BLIND_SITUATION
    assert situation_for(blind, "b") == blind.situation == "healthy"


@pytest.mark.parametrize("duration", [36.0, 60.0, 300.0])
def test_the_maintenance_window_covers_the_slurmdbd_outage_and_a_late_start(duration):
    lengths = step_lengths(HA_SCRIPT, duration)
    i = next(k for k, s in enumerate(HA_SCRIPT) if s.situation == "both-dbd-killed")
    start, end = sum(lengths[:i]), sum(lengths[: i + 1])
    window = maintenance_window(HA_SCRIPT, duration)
    assert window[0] < start and window[1] >= end + 20  # 20 s late still inside
    # no other slurmdbd trouble (the blind step) falls in it
    j = next(k for k, s in enumerate(HA_SCRIPT) if s.blind)
    assert sum(lengths[: j + 1]) + 2 * PROBE_INTERVAL_SECONDS < window[0]


def test_the_outcome_line_and_what_misses_the_promise():
    kept = Outcome(4, 4, 0, 1.5)
    assert kept.line() == {
        "incidents": 4, "pages": 4, "duplicate_pages": 0, "merged_unknown_seconds": 1.5,
    }  # fmt: skip
    assert kept.misses(2.0) == []
    missed = Outcome(4, 5, 1, 4.0).misses(2.0)
    assert len(missed) == 3
    assert "1 duplicate" in missed[0] and "5 page(s) for 4" in missed[1] and "4.0 s" in missed[2]


def test_the_replica_config_is_valid_ha_and_makes_the_alertmanager_config():
    text = replica_config(
        "a",
        'slurm_bin = "/sim/bin"\nmunge_bin = "/sim/bin"\n',
        Path("/tmp/state-a"),
        "127.0.0.1:9817",
        ["http://127.0.0.1:9818"],
        ["http://127.0.0.1:9093", "http://127.0.0.1:9094"],
        "http://127.0.0.1:9999/hook",
        ("2026-12-01T02:00:00Z", "2026-12-01T03:00:00Z"),
    )
    config = parse_config(text)
    assert config.ha is not None and config.ha.replica == "a"
    assert config.receivers == ()  # no direct receiver: two replicas would page twice
    assert config.monitor.interval_seconds == PROBE_INTERVAL_SECONDS
    # each alert its own group: a notice at the receiver is one alert changing
    assert set(config.alerts.group_by) == set(GROUP_LABELS)
    yml = generate(config)
    assert f'group_wait: "{GROUP_WAIT_SECONDS:g}s"' in yml
    assert f'group_interval: "{GROUP_INTERVAL_SECONDS:g}s"' in yml
    assert "http://127.0.0.1:9999/hook" in yml and "send_resolved: true" in yml


def test_without_alertmanager_the_demo_exits_4_naming_the_package(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # no prometheus-alertmanager here
    rc = main(["demo", "--ha", "--duration", "40", "--output", str(tmp_path / "reports")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 4
    assert len(err) == 1 and "apt-get install prometheus-alertmanager" in err[0], err
    assert not (tmp_path / "reports").exists()  # refused before anything was made


EXPOSITION = """\
# HELP slurm_daemon_state 1 for the current state after hysteresis
slurm_daemon_state{cluster="demo",daemon="slurmctld",host="ctl1",role="primary",state="up"} 0.0
slurm_daemon_state{cluster="demo",daemon="slurmctld",host="ctl1",role="primary",state="down"} 1.0
slurm_daemon_state{cluster="demo",daemon="slurmctld",host="ctl2",role="backup",state="down"} %s
slurm_daemon_state{cluster="demo",daemon="slurmctld",host="ctl2",role="backup",state="unknown"} %s
slurm_daemon_state{cluster="demo",daemon="slurmdbd",host="dbd1",role="primary",state="up"} 1.0
slurm_daemon_state{cluster="demo",daemon="slurmdbd",host="dbd2",role="backup",state="unknown"} 1.0
slurm_daemon_state_since_timestamp_seconds{cluster="demo",daemon="slurmdbd",host="dbd1"} 1.0
"""


def test_a_replica_observes_once_each_service_has_a_decided_instance():
    decided, undecided = EXPOSITION % ("1.0", "0.0"), EXPOSITION % ("0.0", "1.0")
    assert daemon_states(decided) == [
        ("slurmctld", "down"), ("slurmctld", "down"), ("slurmdbd", "up"), ("slurmdbd", "unknown"),
    ]  # fmt: skip
    # a standby slurmdbd backup stays unknown: the service is observed through dbd1
    assert observes(decided, ("slurmctld", "slurmdbd"))
    assert observes(undecided, ("slurmctld", "slurmdbd"))  # ctl1 decided
    assert not observes(undecided.replace('daemon="slurmdbd",host="dbd1"', 'daemon="x"'),
                        ("slurmctld", "slurmdbd"))  # fmt: skip
    assert not observes("", ("slurmctld",))


def test_a_replica_sees_the_outage_once_every_controller_is_decided_down():
    assert sees_down(EXPOSITION % ("1.0", "0.0"), "slurmctld")
    assert not sees_down(EXPOSITION % ("0.0", "1.0"), "slurmctld")  # ctl2 not decided yet
    assert not sees_down(EXPOSITION % ("1.0", "0.0"), "slurmdbd")
    assert not sees_down("", "slurmctld")


@pytest.mark.parametrize(
    ("args", "says"),
    [(["--real"], "drop --real"), (["--duration", "30"], "at least 36 seconds")],
)
def test_what_demo_ha_cannot_run_is_refused_in_one_line(tmp_path, capsys, args, says):
    rc = main(["demo", "--ha", "--output", str(tmp_path / "reports"), *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 4 and len(err) == 1 and says in err[0], err
