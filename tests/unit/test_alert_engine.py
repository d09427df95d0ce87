"""The engine's policy, driven by freezegun: dedup across restarts, repeat, resolve with a
real endsAt, inhibition, maintenance silences, grouping, routing, flapping, holds."""

from __future__ import annotations

import datetime as dt

from freezegun import freeze_time

from monitor.alerting.grouping import ReceiverPolicy
from monitor.alerting.model import fingerprint
from monitor.alerting.policy import maintenance_from_windows
from monitor.alerting.settings import AlertSettings, Route, RuleSettings
from monitor.config import MaintenanceWindow
from monitor.snapshot import SlaFigures
from tests.support.alerting import (
    DOWN,
    T0,
    UNKNOWN,
    UP,
    deliver_all,
    engine,
    names,
    status,
)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def step(eng, frozen, seconds=10, **state):
    """One round ``seconds`` later; what earlier rounds queued counts as delivered."""
    deliver_all(eng)
    frozen.tick(dt.timedelta(seconds=seconds))
    return eng.on_round(status(since=now(), **state), [], now())


def test_fire_once_repeat_then_resolve_with_real_ends_at(tmp_path):
    with freeze_time(T0) as frozen:
        eng = engine(tmp_path, AlertSettings(repeat_interval_seconds=3600))
        (n,) = step(eng, frozen, ctl1=DOWN, ctl2=UP)
        assert names(n) == [("SlurmctldFailover", "firing")]
        assert n.status == "firing" and n.reason == "change"
        assert n.alerts[0].ends_at is None
        fired_at = n.alerts[0].starts_at
        for _ in range(5):  # the same state again: deduplicated
            assert step(eng, frozen, ctl1=DOWN, ctl2=UP) == []
        frozen.tick(dt.timedelta(seconds=3600))
        (repeat,) = step(eng, frozen, ctl1=DOWN, ctl2=UP)
        assert repeat.reason == "repeat" and repeat.alerts[0].starts_at == fired_at
        (resolved,) = step(eng, frozen)
        assert resolved.status == "resolved"
        assert names(resolved) == [("SlurmctldFailover", "resolved")]
        assert resolved.alerts[0].ends_at == now()
        assert resolved.alerts[0].fingerprint == fingerprint(
            "prod", "SlurmctldFailover", "slurmctld@ctl2"
        )
        assert step(eng, frozen) == []


def test_state_survives_a_restart(tmp_path):
    with freeze_time(T0) as frozen:
        eng = engine(tmp_path)
        (n,) = step(eng, frozen, ctl1=DOWN, ctl2=DOWN)
        fp = n.alerts[0].fingerprint
        eng.db.close()
        again = engine(tmp_path)  # a restart: same store
        assert again.records[fp].state == "firing"
        # just started: nothing confirmed yet, so nothing resolves or re-fires
        assert step(again, frozen, started=True) == []
        assert step(again, frozen, ctl1=DOWN, ctl2=DOWN) == []  # still the same alert
        (resolved,) = step(again, frozen)
        assert resolved.alerts[0].fingerprint == fp
        assert resolved.alerts[0].starts_at == n.alerts[0].starts_at
        assert len(again.outbox.items()) == 2  # one firing, one resolved: no duplicates


def test_down_inhibits_failover_backup_down_and_slow_in_one_notification(tmp_path):
    with freeze_time(T0) as frozen:
        eng = engine(tmp_path)
        (n,) = step(eng, frozen, ctl1=DOWN, ctl2=DOWN)
        assert names(n) == [("SlurmctldDown", "firing")]  # BackupDown fires, but muted
        assert {r.alertname for r in eng.records.values() if r.state == "firing"} == {
            "SlurmctldDown",
            "SlurmctldBackupDown",
        }
        (restored,) = step(eng, frozen)
        assert names(restored) == [("SlurmctldDown", "resolved")]  # never told of BackupDown


def test_muted_alert_surfaces_when_its_inhibitor_resolves(tmp_path):
    with freeze_time(T0) as frozen:
        eng = engine(tmp_path)
        step(eng, frozen, ctl1=DOWN, ctl2=DOWN)
        (n,) = step(eng, frozen, ctl1=UP, ctl2=DOWN)  # primary back, backup still down
        assert names(n) == [("SlurmctldBackupDown", "firing"), ("SlurmctldDown", "resolved")]


def test_blind_inhibits_and_holds_what_it_cannot_see(tmp_path):
    with freeze_time(T0) as frozen:
        eng = engine(tmp_path)
        (n,) = step(eng, frozen, ctl2=DOWN)
        assert names(n) == [("SlurmctldBackupDown", "firing")]
        (blind,) = step(eng, frozen, blind="auth")  # munge stopped
        assert names(blind) == [("SlurmMonitorBlind", "firing"), ("SlurmMonitorBlind", "firing")]
        assert eng.records[n.alerts[0].fingerprint].state == "firing"  # held, not resolved
        (back,) = step(eng, frozen, ctl2=DOWN)
        assert names(back) == [  # the whole group: what still fires, and what resolved
            ("SlurmctldBackupDown", "firing"),
            ("SlurmMonitorBlind", "resolved"),
            ("SlurmMonitorBlind", "resolved"),
        ]


def test_slurmdbd_failover_pages_then_resolves_and_both_down_mutes_it(tmp_path):
    with freeze_time(T0) as frozen:
        eng = engine(tmp_path)
        (n,) = step(eng, frozen, dbd1=DOWN, dbd2=UP)  # primary killed, backup took over
        assert names(n) == [("SlurmdbdFailover", "firing")]
        assert n.alerts[0].labels["severity"] == "warning"
        (back,) = step(eng, frozen)  # the primary is back and serves
        assert names(back) == [("SlurmdbdFailover", "resolved")]
        (down,) = step(eng, frozen, dbd1=DOWN, dbd2=DOWN)
        assert names(down) == [("SlurmdbdDown", "firing")]  # BackupDown muted, no failover


def test_backup_slurmdbd_down_resolves_when_the_primary_serves_and_it_goes_unlisted(tmp_path):
    """Slurm 24.11+: after both slurmdbd return, ``sacctmgr ping`` lists only the primary,
    so the backup's state becomes unknown. With the primary serving that is a standby's
    healthy look: the alert resolves instead of staying held (and firing) for good."""
    with freeze_time(T0) as frozen:
        eng = engine(tmp_path)
        (down,) = step(eng, frozen, dbd1=DOWN, dbd2=DOWN)
        assert names(down) == [("SlurmdbdDown", "firing")]  # BackupDown muted
        (back,) = step(eng, frozen, dbd2=UNKNOWN)  # the primary serves; the backup unlisted
        assert names(back) == [("SlurmdbdDown", "resolved")]  # BackupDown never surfaces
        assert not any(r.state == "firing" for r in eng.records.values())
        assert step(eng, frozen, dbd2=UNKNOWN) == []
        step(eng, frozen, dbd2=DOWN)  # seen down (local process check): fires again
        assert step(eng, frozen, dbd2=UNKNOWN) != []


def test_grouping_one_cluster_one_notification_two_clusters_two(tmp_path):
    with freeze_time(T0) as frozen:
        eng = engine(tmp_path)
        (n,) = step(eng, frozen, ctl1=DOWN, ctl2=DOWN, dbd1=DOWN, dbd2=DOWN)
        assert names(n) == [("SlurmctldDown", "firing"), ("SlurmdbdDown", "firing")]
        assert n.group_labels == {"cluster": "prod"}
        assert n.group_key == '{}:{cluster="prod"}'
        other = eng.on_round(status("test", ctl1=DOWN, ctl2=DOWN, since=now()), [], now())
        assert [x.group_key for x in other] == ['{}:{cluster="test"}']


def test_an_alert_joining_a_firing_group_resends_the_whole_group(tmp_path):
    with freeze_time(T0) as frozen:
        eng = engine(tmp_path)
        step(eng, frozen, ctl1=DOWN, ctl2=DOWN)
        (joined,) = step(eng, frozen, ctl1=DOWN, ctl2=DOWN, dbd1=DOWN, dbd2=DOWN)
        assert names(joined) == [("SlurmctldDown", "firing"), ("SlurmdbdDown", "firing")]


def test_group_wait_and_group_interval(tmp_path):
    settings = AlertSettings(group_wait_seconds=30, group_interval_seconds=60)
    with freeze_time(T0) as frozen:
        eng = engine(tmp_path, settings)
        assert step(eng, frozen, ctl2=DOWN) == []  # waits for more of the group
        assert step(eng, frozen, ctl2=DOWN, dbd2=DOWN) == []
        (n,) = step(eng, frozen, seconds=20, ctl2=DOWN, dbd2=DOWN)
        assert names(n) == [("SlurmctldBackupDown", "firing"), ("SlurmdbdBackupDown", "firing")]
        assert step(eng, frozen, ctl2=DOWN) == []  # resolved, but within group_interval
        (later,) = step(eng, frozen, seconds=60, ctl2=DOWN)
        assert names(later) == [
            ("SlurmctldBackupDown", "firing"),
            ("SlurmdbdBackupDown", "resolved"),
        ]


def test_maintenance_silences_and_what_outlives_it_is_notified(tmp_path):
    window = MaintenanceWindow(T0, T0 + dt.timedelta(minutes=30), ("prod",), None, "upgrade")
    with freeze_time(T0) as frozen:
        eng = engine(tmp_path, in_maintenance=maintenance_from_windows([window]))
        assert step(eng, frozen, ctl2=DOWN) == []  # in maintenance: silent
        assert step(eng, frozen) == []  # fired and resolved inside it: never told
        assert step(eng, frozen, dbd2=DOWN) == []
        frozen.tick(dt.timedelta(minutes=30))
        (n,) = step(eng, frozen, dbd2=DOWN)  # still broken after the window
        assert names(n) == [("SlurmdbdBackupDown", "firing")]


def test_resolved_notice_is_sent_even_inside_maintenance(tmp_path):
    start = T0 + dt.timedelta(minutes=5)
    window = MaintenanceWindow(start, start + dt.timedelta(hours=1))
    with freeze_time(T0) as frozen:
        eng = engine(tmp_path, in_maintenance=maintenance_from_windows([window]))
        (n,) = step(eng, frozen, ctl2=DOWN)
        frozen.tick(dt.timedelta(minutes=5))
        assert step(eng, frozen, ctl2=DOWN) == []
        (resolved,) = step(eng, frozen)
        assert names(resolved) == [("SlurmctldBackupDown", "resolved")]


def test_routing_by_severity_and_cluster(tmp_path):
    settings = AlertSettings(
        routes=(
            Route(("pager",), severities=("critical",)),
            Route(("chat",), clusters=("prod",)),
        )
    )
    with freeze_time(T0) as frozen:
        eng = engine(tmp_path, settings, receivers=("pager", "chat", "unused"))
        got = step(eng, frozen, ctl1=DOWN, ctl2=DOWN, dbd2=DOWN)
        assert {n.receiver: names(n) for n in got} == {
            "pager": [("SlurmctldDown", "firing")],
            "chat": [("SlurmctldDown", "firing"), ("SlurmdbdBackupDown", "firing")],
        }
        other = eng.on_round(status("test", ctl2=DOWN, since=now()), [], now())
        assert other == []  # warning, not prod: nobody


def test_flapping_at_the_defaults_is_notified_as_it_happens_and_said_in_the_notice(tmp_path):
    with freeze_time(T0) as frozen:
        eng = engine(tmp_path)
        sent = []
        for _ in range(3):
            sent += step(eng, frozen, ctl2=DOWN)
            sent += step(eng, frozen)
        assert [n.status for n in sent] == ["firing", "resolved"] * 3  # nothing held
        flags = [n.alerts[0].annotations.get("flapping") for n in sent]
        assert flags == [None, None, None, "true", "true", "true"]  # from the 4th change
        assert "changed 4 times" in sent[3].alerts[0].annotations["description"]
        assert sent[-1].alerts[0].ends_at == now()


def test_flap_hold_collapses_a_quick_resolve_and_refire(tmp_path):
    settings = AlertSettings(flap_hold_seconds=30)  # the setting under test; the rest default
    with freeze_time(T0) as frozen:
        eng = engine(tmp_path, settings)
        sent = []
        for _ in range(2):
            sent += step(eng, frozen, ctl2=DOWN)
            sent += step(eng, frozen)
        assert [n.status for n in sent] == ["firing", "resolved", "firing"]
        # the 4th change within the window: flapping, so a resolve waits 30 s for a re-fire
        for _ in range(5):
            sent += step(eng, frozen, ctl2=DOWN)
            sent += step(eng, frozen)
        assert [n.status for n in sent] == ["firing", "resolved", "firing"]
        quiet_from = now()  # the loop's last round was already quiet
        (quiet,) = [n for _ in range(4) for n in step(eng, frozen)]
        assert quiet.status == "resolved"
        assert quiet.alerts[0].ends_at == quiet_from  # when it went quiet, not when sent
        assert quiet.alerts[0].annotations["flapping"] == "true"


def test_for_seconds_delays_firing(tmp_path):
    rules = dict(AlertSettings().rules)
    rules["SlurmctldBackupDown"] = RuleSettings(severity="warning", for_seconds=25)
    with freeze_time(T0) as frozen:
        eng = engine(tmp_path, AlertSettings(rules=rules))
        assert step(eng, frozen, ctl2=DOWN) == []
        assert step(eng, frozen, ctl2=DOWN) == []
        assert step(eng, frozen) == []  # gone before it fired: never told
        assert step(eng, frozen, ctl2=DOWN) == []
        assert step(eng, frozen, ctl2=DOWN) == []
        assert step(eng, frozen, ctl2=DOWN) == []  # 20 s of 25
        (n,) = step(eng, frozen, ctl2=DOWN)
        assert names(n) == [("SlurmctldBackupDown", "firing")]


def test_receiver_without_resolved_notices(tmp_path):
    with freeze_time(T0) as frozen:
        eng = engine(tmp_path, policies=[ReceiverPolicy("quiet", send_resolved=False)])
        assert len(step(eng, frozen, ctl2=DOWN)) == 1
        assert step(eng, frozen) == []


def test_alertmanager_style_receiver_reposts_firing_and_recent_resolved(tmp_path):
    am = ReceiverPolicy("am", repeat_interval_seconds=60, resend_resolved_seconds=300)
    with freeze_time(T0) as frozen:
        eng = engine(tmp_path, policies=[am])
        step(eng, frozen, ctl2=DOWN)
        reposts = [n for _ in range(12) for n in step(eng, frozen, ctl2=DOWN)]
        assert len(reposts) == 2 and all(n.reason == "repeat" for n in reposts)
        (resolved,) = step(eng, frozen)
        again = [n for _ in range(36) for n in step(eng, frozen)]
        assert all(names(n) == [("SlurmctldBackupDown", "resolved")] for n in again)
        assert len(again) == 5  # for resend_resolved_seconds, every repeat interval


def test_repeat_waits_while_the_group_still_has_a_queued_notice(tmp_path):
    with freeze_time(T0) as frozen:
        eng = engine(tmp_path, policies=[ReceiverPolicy("r", repeat_interval_seconds=60)])
        eng.on_round(status(ctl2=DOWN, since=now()), [], now())  # queued, never delivered
        for _ in range(20):
            frozen.tick(dt.timedelta(seconds=10))
            assert eng.on_round(status(ctl2=DOWN, since=now()), [], now()) == []
        deliver_all(eng)
        frozen.tick(dt.timedelta(seconds=10))
        (repeat,) = eng.on_round(status(ctl2=DOWN, since=now()), [], now())
        assert repeat.reason == "repeat"


def test_budget_page_inhibits_the_ticket(tmp_path):
    rates = {"5m": 20.0, "30m": 2.0, "1h": 15.0, "6h": 2.0, "1d": 1.5, "3d": 1.2}
    fig = SlaFigures("prod", "slurmctld", 0.999, 0.99, 0.2, 900.0, rates)
    with freeze_time(T0) as frozen:
        eng = engine(tmp_path, sla_source=lambda when: (fig,))
        (n,) = step(eng, frozen)
        assert [(a.alertname, a.labels["urgency"]) for a in n.alerts] == [
            ("SlurmSLABudgetBurn", "page")
        ]


def test_a_failing_ledger_holds_the_budget_alert(tmp_path):
    rates = {"5m": 20.0, "30m": 2.0, "1h": 15.0, "6h": 2.0, "1d": 1.5, "3d": 0.2}
    figures = [SlaFigures("prod", "slurmctld", 0.999, 0.99, 0.2, 900.0, rates)]

    def source(when):
        if not figures:
            raise RuntimeError("ledger store locked")
        return tuple(figures)

    with freeze_time(T0) as frozen:
        eng = engine(tmp_path, sla_source=source)
        (n,) = step(eng, frozen)
        figures.clear()
        assert step(eng, frozen) == []  # neither resolved nor re-fired
        assert [r.state for r in eng.records.values()] == ["firing"]


def test_reload_resolves_alerts_of_a_removed_cluster(tmp_path):
    with freeze_time(T0) as frozen:
        eng = engine(tmp_path)
        step(eng, frozen, ctl2=DOWN)
        frozen.tick(dt.timedelta(seconds=5))
        out = eng.configure(
            AlertSettings(), eng._thresholds, [ReceiverPolicy("oncall")], ["other"], now()
        )
        assert [names(n) for n in out] == [[("SlurmctldBackupDown", "resolved")]]


def test_old_resolved_alerts_are_forgotten(tmp_path):
    with freeze_time(T0) as frozen:
        eng = engine(tmp_path)
        step(eng, frozen, ctl2=DOWN)
        step(eng, frozen)
        assert len(eng.records) == 1
        frozen.tick(dt.timedelta(minutes=25))  # kept through the flap window (30 min) ...
        step(eng, frozen)
        assert len(eng.records) == 1
        frozen.tick(dt.timedelta(minutes=10))  # ... and a minute more
        step(eng, frozen)
        assert eng.records == {}
        assert eng.groups == {}
