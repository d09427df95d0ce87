"""The ledger as the daemon drives it: real HealthEvents from ClusterHealth, time driven by
freezegun. Outages, failovers, restart mid-incident, the wall clock stepping backwards,
month boundaries, maintenance, heartbeats that do not grow with probes, and caching."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from monitor.config import parse_config
from monitor.health import ClusterHealth
from monitor.ledger.ledger import Ledger
from monitor.ledger.query import month_periods, service_period
from monitor.ledger.sla import Policy
from monitor.ledger.store import EventRow, Heartbeat, LedgerStore
from monitor.ledger.timebase import US, from_us, month_bounds, to_us
from monitor.observation import (
    State,
)
from monitor.statestore import MIGRATIONS
from monitor.store.db import Database
from tests.support.ledger import STEP, T0, Monitor, config, now, observe, observe_lanes


def period(cfg, start, end):
    store = LedgerStore(Database.in_dir(cfg.monitor.state_dir, migrations=MIGRATIONS))
    return service_period(
        store, "prod", "slurmctld", to_us(start), to_us(end), Policy.from_settings(cfg.sla), 0.999
    )


def test_outage_is_counted_to_the_probe(tmp_path):
    cfg = config(tmp_path)
    with freeze_time(T0) as frozen:
        m = Monitor(cfg, frozen)
        m.rounds(60)
        down_from = now() + STEP  # the first round that sees it
        m.rounds(30, primary=False)
        up_from = now() + STEP
        m.rounds(60)
        f = m.figures()
        assert f.downtime_seconds_total == (up_from - down_from).total_seconds() == 300
        assert f.objective_ratio == 0.999
        assert 0 < f.availability_ratio < 1
        assert f.burn_rates["1h"] > 14.4 and f.burn_rates["5m"] == 0.0
        report = period(cfg, T0, now())
        (incident,) = report.incidents
        assert incident.start == to_us(down_from) and incident.end == to_us(up_from)
        assert incident.cause == "no_controller"
        assert report.breakdown.unknown_us == 10 * US  # T0 to the first round
        assert m.ledger.healthy and m.ledger.problems() == []


def test_failover_is_listed_not_downtime(tmp_path):
    cfg = config(tmp_path)
    with freeze_time(T0) as frozen:
        m = Monitor(cfg, frozen)
        m.rounds(10, backup=True)
        m.rounds(20, primary=False, backup=True)
        m.rounds(10, backup=True)
        assert m.figures().downtime_seconds_total == 0
        report = period(cfg, T0, now())
        assert report.breakdown.down_us == 0 and report.incidents == ()
        assert [(f.old, f.new, f.cause) for f in report.failovers] == [
            ("ctl1(primary)", "ctl2(backup)", "failover"),
            ("ctl2(backup)", "ctl1(primary)", "failback"),
        ]


def test_heartbeats_grow_with_runs_not_probes_and_stalls_are_unknown(tmp_path):
    cfg = config(tmp_path)
    with freeze_time(T0) as frozen:
        m = Monitor(cfg, frozen)
        m.rounds(500)
        frozen.tick(dt.timedelta(minutes=10))  # the rounds stalled (tolerance is 35 s)
        m.rounds(10)
        db = Database.in_dir(tmp_path, migrations=MIGRATIONS)
        rows = db.query("SELECT first_us, last_us, rounds FROM ledger_heartbeats ORDER BY id")
        assert [r["rounds"] for r in rows] == [500, 10]
        report = period(cfg, T0, now())
        assert report.breakdown.unknown_us == (10 + 600 + 10) * US  # before, stall, gap


def test_restart_mid_incident_neither_loses_nor_double_counts(tmp_path):
    cfg = config(tmp_path)
    with freeze_time(T0) as frozen:
        first = Monitor(cfg, frozen)
        first.rounds(30)
        down_from = now() + STEP
        first.rounds(20, primary=False)
        last_heartbeat = now()
        # SIGKILL: nothing is closed or flushed; 2 minutes pass
        frozen.tick(dt.timedelta(minutes=2))
        second = Monitor(cfg, frozen)
        assert second.ledger.resumed[("prod", "slurmctld")][0] == "down"
        second.rounds(1, primary=False)
        resumed_at = now()
        second.rounds(14, primary=False)
        up_from = now() + STEP
        second.rounds(30)
        seen_down = (last_heartbeat - down_from) + (up_from - resumed_at)
        f = second.figures()
        assert f.downtime_seconds_total == seen_down.total_seconds() == 190 + 150
        report = period(cfg, T0, now())
        b = report.breakdown
        assert b.unknown_us == to_us(resumed_at) - to_us(last_heartbeat) + 10 * US
        (incident,) = report.incidents  # one incident, continued across the restart
        assert (incident.start, incident.end) == (to_us(down_from), to_us(up_from))
        assert incident.downtime_us == seen_down.total_seconds() * US
        parts = b.up_us + b.degraded_us + b.down_us + b.maintenance_us + b.unknown_us
        assert parts == b.interval_us


TWO = dt.timedelta(seconds=2)


def two_second_config(state_dir: Path):
    """The takeover-grace tests: rounds every 2 s (the lab's), the shipped 10 s grace."""
    return parse_config(
        f"""
[monitor]
state_dir = "{state_dir}"
interval_seconds = 2
[[clusters]]
name = "prod"
accounting = false
"""
    )


def two_second_rounds(m: Monitor, n: int, primary: bool, backup: bool) -> None:
    """``n`` rounds of ``m`` 2 s apart, recorded as the daemon records them."""
    for _ in range(n):
        m.frozen.tick(TWO)
        events = m.health.update(observe(primary, backup))
        m.ledger.on_round(m.health.status(), events, now())


def test_a_monitor_killed_while_the_takeover_grace_holds_a_silence_leaves_it_unknown(
    tmp_path,
):
    """A backup serves, then no controller answers: the grace holds the verdict (the
    silence becomes an outage dated from its start only once it outlasts the grace). A
    monitor SIGKILLed inside the grace must not leave that silence recorded as up: the
    real-cluster timeline lost ~6 s of an outage that way. It is unknown, and the next run
    counts the outage from its own first round."""
    cfg = two_second_config(tmp_path)
    with freeze_time(T0) as frozen:
        first = Monitor(cfg, frozen)
        two_second_rounds(first, 10, True, True)
        two_second_rounds(first, 5, False, True)  # ctl1 killed: the backup serves
        silent_from = now() + TWO
        two_second_rounds(first, 3, False, False)  # 6 s of silence, inside the 10 s grace
        assert first.health.status().services["slurmctld"].state is State.UP  # held
        frozen.tick(dt.timedelta(seconds=3))  # SIGKILL; restarted 3 s later
        second = Monitor(cfg, frozen)
        resumed_at = now() + TWO
        two_second_rounds(second, 5, False, False)  # no backup served in this run: an outage
        up_from = now() + TWO
        two_second_rounds(second, 10, True, True)
        b = period(cfg, T0, now()).breakdown
        # unknown: T0 to the first round, and the held silence to the second run's first
        assert b.unknown_us == 2 * US + to_us(resumed_at) - to_us(silent_from)
        assert b.down_us == to_us(up_from) - to_us(resumed_at)
        assert b.up_us + b.down_us + b.unknown_us == b.interval_us


def test_a_health_replaced_by_a_reload_inside_the_grace_leaves_the_silence_unknown(tmp_path):
    """A reload that changes the cluster's config starts its health afresh (the daemon
    passes the old one's ``undecided_since``): same run, same ledger, and the held silence
    is unknown, not up."""
    from monitor.health import ClusterHealth

    cfg = two_second_config(tmp_path)
    with freeze_time(T0) as frozen:
        m = Monitor(cfg, frozen)
        two_second_rounds(m, 10, True, True)
        two_second_rounds(m, 3, False, True)
        silent_from = now() + TWO
        two_second_rounds(m, 3, False, False)  # held
        m.health = ClusterHealth("prod", cfg.monitor, m.health.status().undecided_since)
        counted_from = now() + TWO
        two_second_rounds(m, 5, False, False)
        up_from = now() + TWO
        two_second_rounds(m, 10, True, True)
        b = period(cfg, T0, now()).breakdown
        assert b.unknown_us == 2 * US + to_us(counted_from) - to_us(silent_from)
        assert b.down_us == to_us(up_from) - to_us(counted_from)


def test_two_reloads_before_a_round_still_leave_the_held_silence_unknown(tmp_path):
    """Two reloads that change the cluster within one interval: the second replaces a
    health that has seen no round yet, which must hand on what the first had not decided
    (it said "nothing undecided", and the held silence was recorded as up)."""
    from monitor.health import ClusterHealth

    cfg = two_second_config(tmp_path)
    with freeze_time(T0) as frozen:
        m = Monitor(cfg, frozen)
        two_second_rounds(m, 10, True, True)
        two_second_rounds(m, 3, False, True)
        silent_from = now() + TWO
        two_second_rounds(m, 3, False, False)  # held
        for _ in range(2):  # as Daemon.reload and _runtime do
            undecided = m.health.status().undecided_since
            m.health = ClusterHealth("prod", cfg.monitor, undecided or now())
        counted_from = now() + TWO
        two_second_rounds(m, 5, False, False)
        two_second_rounds(m, 10, True, True)
        b = period(cfg, T0, now()).breakdown
        assert b.unknown_us == 2 * US + to_us(counted_from) - to_us(silent_from)


def test_a_gap_inside_a_held_silence_leaves_only_the_gap_unknown(tmp_path):
    """The rounds stall (or the clock steps forward) while the grace holds a silence, and
    the silence goes on past it: the outage counts from the silence's first round up to
    the last round before the gap, the gap is unknown. The segment the gap closed had
    stopped at the hold and was never extended: the seen silence stayed unknown."""
    cfg = two_second_config(tmp_path)
    with freeze_time(T0) as frozen:
        m = Monitor(cfg, frozen)
        two_second_rounds(m, 10, True, True)
        two_second_rounds(m, 3, False, True)
        silent_from = now() + TWO
        two_second_rounds(m, 3, False, False)  # held
        stalled_from = now()
        frozen.tick(dt.timedelta(seconds=40))  # past the gap tolerance (27 s)
        resumed = now() + TWO
        two_second_rounds(m, 5, False, False)
        up_from = now() + TWO
        two_second_rounds(m, 10, True, True)
        b = period(cfg, T0, now()).breakdown
        assert b.down_us == to_us(stalled_from) - to_us(silent_from) + to_us(up_from) - to_us(
            resumed
        )
        assert b.unknown_us == 2 * US + to_us(resumed) - to_us(stalled_from)


def test_a_silence_the_grace_held_is_counted_whole_once_it_is_decided(tmp_path):
    """The same hold, decided in the same run: a blip is up throughout (no unknown), an
    outage counts from the silence's first round."""
    cfg = two_second_config(tmp_path)
    with freeze_time(T0) as frozen:
        m = Monitor(cfg, frozen)
        two_second_rounds(m, 10, True, True)
        two_second_rounds(m, 3, False, True)
        two_second_rounds(m, 3, False, False)  # a blip inside the grace
        two_second_rounds(m, 3, False, True)
        blip_over = now()
        silent_from = now() + TWO
        two_second_rounds(m, 10, False, False)  # 20 s: past the grace, an outage
        up_from = now() + TWO
        two_second_rounds(m, 10, True, True)
        assert period(cfg, T0, blip_over).breakdown.unknown_us == 2 * US
        b = period(cfg, T0, now()).breakdown
        assert b.unknown_us == 2 * US
        assert b.down_us == to_us(up_from) - to_us(silent_from)


def test_wall_clock_stepping_back_neither_negative_nor_double_counted(tmp_path):
    cfg = config(tmp_path)
    with freeze_time(T0) as frozen:
        m = Monitor(cfg, frozen)
        m.rounds(360)  # one hour up
        high = now()
        frozen.move_to(high - dt.timedelta(minutes=30))  # the clock steps back 30 minutes
        m.rounds(60, primary=False)  # 10 minutes down, replayed time
        m.rounds(240)  # up again; the clock passes the old mark after 20 more minutes
        store = LedgerStore(Database.in_dir(tmp_path, migrations=MIGRATIONS))
        (segment,) = store.coverage("prod", 0, 1 << 62)
        assert segment.last == to_us(now()) and segment.last - segment.first <= to_us(
            now()
        ) - to_us(T0)
        events = store.events("prod", 0, 1 << 62, kinds=("service",))
        assert [e.new for e in events] == ["up", "down", "up"]
        ats = [e.at_us for e in events]
        assert ats == sorted(ats) and ats[1] == ats[2] == to_us(high)  # held at the mark
        report = period(cfg, T0, now())
        b = report.breakdown
        assert b.interval_us == b.up_us + b.down_us + b.unknown_us
        assert b.down_us == 0  # the replayed outage has no length: it is not counted twice
        assert m.figures().downtime_seconds_total == 0


def test_a_slow_lane_round_dated_before_the_other_lanes_keeps_its_outage_start(tmp_path):
    """Slow slurmctld rounds (a frozen controller's ping waits 10 s; here 14 s each), each
    dated by its start, while the slurmdbd lane records rounds every 2 s. The slow round's
    outage starts where it saw it; taken for a clock step, it was raised to the other
    lane's last round (up to a slow round's length cut from the outage)."""
    cfg = parse_config(f"""
[monitor]
state_dir = "{tmp_path}"
interval_seconds = 2
[[clusters]]
name = "prod"
[slo]
slurmctld = 99.9
""")
    with freeze_time(T0) as frozen:
        ledger = Ledger(cfg, lambda: Database.in_dir(tmp_path, migrations=MIGRATIONS),
                        clock=now)  # fmt: skip
        health = ClusterHealth("prod", cfg.monitor, now())

        def lane(service: str, at: dt.datetime, ctl_up: bool) -> None:
            events = health.update(observe_lanes(at, ctl_up), (service,))
            ledger.on_round(health.status(), events, now())

        def dbd_rounds(seconds: int) -> None:
            for _ in range(seconds // 2):
                frozen.tick(dt.timedelta(seconds=2))
                lane("slurmdbd", now(), True)

        for _ in range(30):
            frozen.tick(dt.timedelta(seconds=2))
            lane("slurmctld", now(), True)
            lane("slurmdbd", now(), True)
        cut = now()
        slow = []
        for _ in range(3):  # three slurmctld rounds of 14 s each, dated by their start
            started = now()
            dbd_rounds(14)
            lane("slurmctld", started, False)
            slow.append(started)
        healed = now()
        for _ in range(10):
            frozen.tick(dt.timedelta(seconds=2))
            lane("slurmctld", now(), True)
            lane("slurmdbd", now(), True)
        store = LedgerStore(Database.in_dir(tmp_path, migrations=MIGRATIONS))
        down = [e for e in store.events("prod", 0, 1 << 62, kinds=("service",))
                if e.service == "slurmctld" and e.new == "down"]  # fmt: skip
        assert [e.at_us for e in down] == [to_us(slow[0])] and slow[0] == cut
        report = period(cfg, T0, now())
        assert report.breakdown.down_us == to_us(healed + dt.timedelta(seconds=2)) - to_us(cut)
        assert report.breakdown.unknown_us == 2 * US  # T0 to the first round only


def test_a_lost_event_is_resynced_from_the_health_status(tmp_path):
    cfg = config(tmp_path)
    with freeze_time(T0) as frozen:
        m = Monitor(cfg, frozen)
        m.rounds(10)
        for _ in range(5):  # the events of these rounds never reach the ledger
            frozen.tick(STEP)
            m.health.update(observe(False))
            m.ledger.on_round(m.health.status(), [], now())
        m.rounds(5, primary=False)
        store = LedgerStore(Database.in_dir(tmp_path, migrations=MIGRATIONS))
        events = store.events("prod", 0, 1 << 62, kinds=("service",))
        assert [e.new for e in events] == ["up", "down"]
        assert events[1].cause.startswith("ledger resync")
        assert events[1].at_us == to_us(m.health.status().services["slurmctld"].since)


def test_blind_time_is_unknown_not_downtime(tmp_path):
    cfg = config(tmp_path, '[sla]\nunknown_counts_as = "excluded"')
    with freeze_time(T0) as frozen:
        m = Monitor(cfg, frozen)
        m.rounds(10)
        m.rounds(30, primary=None)
        m.rounds(10)
        assert m.figures().downtime_seconds_total == 0
        b = period(cfg, T0, now()).breakdown
        assert b.unknown_us == (10 + 300) * US and b.down_us == 0


def test_month_boundary_in_berlin(tmp_path):
    cfg = config(tmp_path, '[sla]\ntimezone = "Europe/Berlin"')
    berlin_midnight = dt.datetime(2026, 11, 30, 23, 0, tzinfo=dt.UTC)  # Dec 1st 00:00 CET
    with freeze_time(berlin_midnight - dt.timedelta(minutes=10)) as frozen:
        m = Monitor(cfg, frozen)
        m.rounds(30)
        m.rounds(60, primary=False)  # 23:55..00:05 UTC: 10 minutes down across midnight
        m.rounds(30)
        f = m.figures()
        assert f.downtime_seconds_total == 600
        start, _ = month_bounds(2026, 12, ZoneInfo("Europe/Berlin"))
        assert start == to_us(berlin_midnight)
        dec = period(cfg, berlin_midnight, now()).breakdown
        nov = period(cfg, berlin_midnight - dt.timedelta(hours=1), berlin_midnight).breakdown
        assert dec.downtime_us + nov.downtime_us == 600 * US
        assert (nov.downtime_us, dec.downtime_us) == (290 * US, 310 * US)
        assert f.availability_ratio == pytest.approx(1 - dec.downtime_us / dec.eligible_us)


def test_config_maintenance_is_mirrored_and_an_overrun_counts_from_its_end(tmp_path):
    extra = """
[[maintenance]]
start = 2026-11-26T10:05:00Z
end = 2026-11-26T10:10:00Z
reason = "upgrade"
"""
    cfg = config(tmp_path, extra)
    with freeze_time(T0) as frozen:
        m = Monitor(cfg, frozen)
        m.rounds(24)  # to 10:04:00
        m.rounds(60, primary=False)  # down 10:04:10 .. 10:14:10
        m.rounds(30)
        f = m.figures()
        assert f.downtime_seconds_total == 50 + 250  # before the window, then the overrun
        report = period(cfg, T0, now())
        assert report.breakdown.maintenance_us == 300 * US
        (incident,) = report.incidents
        assert incident.maintenance_us == 300 * US and incident.downtime_us == 300 * US
        (w,) = LedgerStore(Database.in_dir(tmp_path, migrations=MIGRATIONS)).windows()
        assert (w.origin, w.reason) == ("config", "upgrade")


def test_a_window_added_by_another_process_is_noticed_and_config_edits_retire(tmp_path):
    extra = """
[[maintenance]]
start = 2026-11-27T02:00:00Z
end = 2026-11-27T04:00:00Z
"""
    cfg = config(tmp_path, extra)
    with freeze_time(T0) as frozen:
        m = Monitor(cfg, frozen)
        m.rounds(10)
        m.rounds(30, primary=False)
        m.rounds(10)
        assert m.figures().downtime_seconds_total == 300
        other = LedgerStore(Database.in_dir(tmp_path, migrations=MIGRATIONS))
        from monitor.ledger.maintenance import StoredWindow

        other.add_window(
            StoredWindow(0, "cli", to_us(T0), to_us(now()), None, None, "fix", "none", None,
                         "UTC", to_us(now()), "alice"),
        )  # fmt: skip
        f = m.figures()
        assert f.availability_ratio is None  # the whole time is maintenance now
        assert f.downtime_seconds_total == 300  # a counter does not go down
        m.ledger.reload(config(tmp_path))  # the config window was deleted from the file
        windows = other.windows(include_removed=True)
        config_window = next(w for w in windows if w.origin == "config")
        assert config_window.removed and config_window.effective_us == to_us(now())


def test_figures_are_cached_until_something_changes(tmp_path):
    cfg = config(tmp_path)
    with freeze_time(T0) as frozen:
        m = Monitor(cfg, frozen)
        m.rounds(10)
        first = m.figures()
        m.rounds(1)
        assert m.figures() is first  # same minute, nothing new
        m.rounds(3, primary=False)  # a transition: recomputed at once
        assert m.figures() is not first
        second = m.figures()
        m.rounds(4, primary=False)
        assert m.figures() is second
        m.rounds(3, primary=False)  # a minute later
        assert m.figures().downtime_seconds_total > second.downtime_seconds_total


def test_no_rounds_yet_gives_objective_only(tmp_path):
    cfg = config(tmp_path)
    with freeze_time(T0) as frozen:
        m = Monitor(cfg, frozen)
        f = m.figures()
        assert (f.availability_ratio, f.error_budget_remaining_ratio) == (None, None)
        assert f.downtime_seconds_total == 0 and f.burn_rates == {}


def test_restart_with_the_clock_behind_the_store_holds_at_the_mark(tmp_path):
    cfg = config(tmp_path)
    with freeze_time(T0) as frozen:
        first = Monitor(cfg, frozen)
        first.rounds(60)  # to T0 + 10 min
        mark = now()
        frozen.move_to(mark - dt.timedelta(hours=1))  # restarted with a clock an hour behind
        second = Monitor(cfg, frozen)
        second.rounds(30, primary=False)  # 5 minutes down, in time already recorded
        second.rounds(400)  # the clock passes the mark again after an hour
        report = period(cfg, T0, now())
        b = report.breakdown
        assert b.interval_us == b.up_us + b.down_us + b.unknown_us + b.degraded_us
        assert b.down_us == 0 and b.unknown_us >= 10 * US
        store = LedgerStore(Database.in_dir(tmp_path, migrations=MIGRATIONS))
        assert all(e.at_us >= to_us(mark) for e in store.events("prod", 0, 1 << 62) if e.run == 2)
        assert second.figures().downtime_seconds_total == 0


def test_in_maintenance_answers_for_alert_policy(tmp_path):
    extra = """
[[maintenance]]
start = 2026-11-26T10:05:00Z
end = 2026-11-26T10:10:00Z
services = ["slurmctld"]
"""
    with freeze_time(T0) as frozen:
        m = Monitor(config(tmp_path, extra), frozen)
        inside = T0 + dt.timedelta(minutes=7)
        assert m.ledger.in_maintenance("prod", "slurmctld", inside).reason == ""
        assert m.ledger.in_maintenance("prod", "slurmdbd", inside) is None
        assert m.ledger.in_maintenance("prod", "slurmctld", T0) is None


def _write_history(state_dir: Path, start: dt.datetime, end: dt.datetime, outages) -> None:
    """A run covering [start, end) with the service down in each (from, to) of outages."""
    store = LedgerStore(Database.in_dir(state_dir, migrations=MIGRATIONS))
    run = store.begin_run(to_us(start), 1, "test", "test")
    rows, seq = [], 0

    def row(at: dt.datetime, old: str, new: str) -> EventRow:
        nonlocal seq
        seq += 1
        return EventRow("prod", "service", "slurmctld", "slurmctld", "", "", "", old, new,
                        "no_controller" if new == "down" else "ok", to_us(at), to_us(at),
                        to_us(at), seq)  # fmt: skip

    rows.append(row(start, "unknown", "up"))
    for a, b in outages:
        rows += [row(a, "up", "down"), row(b, "down", "up")]
    store.record(run, rows, [Heartbeat("prod", None, to_us(start), to_us(end), 1)])
    store.db.close()


def test_dst_month_parts_add_up_to_743_hours(tmp_path):
    berlin = ZoneInfo("Europe/Berlin")
    start, end = month_bounds(2026, 3, berlin)
    down = (
        dt.datetime(2026, 3, 29, 0, 30, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC),
    )
    _write_history(tmp_path, from_us(start - US), from_us(end + US), [down])
    cfg = config(tmp_path, '[sla]\ntimezone = "Europe/Berlin"')
    store = LedgerStore(Database.in_dir(tmp_path, migrations=MIGRATIONS))
    (p,) = month_periods(store, cfg, 2026, 3)
    b = p.breakdown
    assert b.interval_us == 743 * 3600 * US  # 31 days less the hour skipped at 02:00
    assert b.up_us + b.down_us == b.interval_us and b.downtime_us == 3600 * US
    assert p.budget.allowed_seconds == pytest.approx(0.001 * 743 * 3600)
    assert not p.met and p.to_dict()["availability_percent"] == pytest.approx(100 * (1 - 1 / 743))


def test_closed_months_are_cached_in_the_store_and_survive_a_restart(tmp_path):
    utc = dt.UTC
    outages = [
        (dt.datetime(2026, 9, 10, tzinfo=utc), dt.datetime(2026, 9, 10, 0, 10, tzinfo=utc)),
        (dt.datetime(2026, 10, 10, tzinfo=utc), dt.datetime(2026, 10, 10, 0, 20, tzinfo=utc)),
        (dt.datetime(2026, 11, 10, tzinfo=utc), dt.datetime(2026, 11, 10, 0, 30, tzinfo=utc)),
    ]
    _write_history(tmp_path, dt.datetime(2026, 9, 1, tzinfo=utc), T0, outages)
    cfg = config(tmp_path)
    with freeze_time(T0):
        ledger = Ledger.open(cfg, clock=now)
        (f,) = ledger.figures(now())
        assert f.downtime_seconds_total == 3600
        assert f.availability_ratio == pytest.approx(1 - 1800 / (to_us(T0) / US - 1793491200))
        ledger.close()
        db = Database.in_dir(tmp_path, migrations=MIGRATIONS)
        saved = db.query("SELECT month_us, downtime_us FROM ledger_month_totals ORDER BY 1")
        assert [r[1] for r in saved] == [600 * US, 1200 * US]
        db.close()
        again = Ledger.open(cfg, clock=now)
        assert again.figures(now())[0].downtime_seconds_total == 3600


def test_month_periods_cover_every_configured_service(tmp_path):
    cfg = parse_config(
        f'[monitor]\nstate_dir = "{tmp_path}"\n[[clusters]]\nname = "prod"\n'
        '[[clusters]]\nname = "lab"\naccounting = false\n[slo]\nslurmdbd = 99.0\n'
    )
    store = LedgerStore(Database.in_dir(tmp_path, migrations=MIGRATIONS))
    periods = month_periods(store, cfg, 2026, 11, now=to_us(T0))
    assert [(p.cluster, p.service, p.objective) for p in periods] == [
        ("prod", "slurmctld", 0.999),
        ("prod", "slurmdbd", 0.99),
        ("lab", "slurmctld", 0.999),
    ]
    assert all(p.breakdown.end == to_us(T0) and p.breakdown.availability is None for p in periods)
    assert month_periods(store, cfg, 2026, 11, clusters=["lab"])[0].cluster == "lab"
