"""The pure SLA arithmetic: parts add up exactly, availability, unknown time, min-downtime
runs, maintenance (overlapping, overrun), incidents, error budget and burn rates."""

from __future__ import annotations

from bisect import bisect_right

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.ledger.sla import (
    Coverage,
    Policy,
    Transition,
    burn_rate,
    error_budget,
    overlay_maintenance,
    projected_eligible_us,
    state_spans,
    state_steps,
    timeline,
)
from monitor.ledger.timebase import MINUTE_US
from tests.support.sla_timeline import T0, S, at, cov, tl, tr


def test_parts_add_up_and_availability():
    t = tl([tr(0, "up"), tr(100, "down"), tr(160, "degraded"), tr(200, "up")], [cov(0, 1000)])
    b = t.breakdown(at(0), at(1000))
    assert (b.up_us, b.degraded_us, b.down_us) == (900 * S, 40 * S, 60 * S)
    assert b.up_us + b.degraded_us + b.down_us + b.maintenance_us + b.unknown_us == 1000 * S
    assert b.downtime_us == 60 * S
    assert b.availability == pytest.approx(940 / 1000)  # degraded counts as up


def test_time_no_heartbeat_covers_is_unknown_and_excluded_by_default():
    # the monitor ran [0, 300) and [500, 1000); the service was down throughout
    t = tl([tr(0, "down"), tr(500, "down", run=2)], [cov(0, 300), cov(500, 1000, run=2)])
    b = t.breakdown(at(0), at(1000))
    assert b.unknown_us == 200 * S and b.down_us == 800 * S
    assert b.eligible_us == 800 * S and b.availability == 0.0


@pytest.mark.parametrize(
    ("counts_as", "eligible", "downtime"),
    [("excluded", 800, 100), ("up", 1000, 100), ("down", 1000, 300)],
)
def test_unknown_counts_as(counts_as, eligible, downtime):
    # blind (state unknown) for 200 s inside the coverage, down 100 s
    t = tl(
        [tr(0, "up"), tr(100, "unknown"), tr(300, "up"), tr(500, "down"), tr(600, "up")],
        [cov(0, 1000)],
        policy=Policy(counts_as),
    )
    b = t.breakdown(at(0), at(1000))
    assert b.unknown_us == 200 * S
    assert (b.eligible_us, b.downtime_us) == (eligible * S, downtime * S)


def test_each_run_starts_unknown_until_its_first_transition():
    # run 1 said down; run 2 (after a restart) has not confirmed anything before t=420
    t = tl([tr(0, "down"), tr(420, "up", run=2)], [cov(0, 300), cov(400, 1000, run=2)])
    spans = [(sp.start - T0) // S for sp in t.spans]
    assert spans == [0, 300, 400, 420]
    assert [sp.state for sp in t.spans] == ["down", "unmonitored", "unknown", "up"]


def test_overlapping_maintenance_counts_once_and_overrun_counts_from_window_end():
    t = tl(
        [tr(0, "up"), tr(100, "down"), tr(400, "up")],
        [cov(0, 1000)],
        windows=[(50, 200), (150, 300)],  # overlapping: [50, 300) once
    )
    b = t.breakdown(at(0), at(1000))
    assert b.maintenance_us == 250 * S
    assert b.down_us == 100 * S  # [300, 400): the overrun
    assert b.downtime_us == 100 * S
    assert b.eligible_us == 750 * S
    assert b.up_us + b.degraded_us + b.down_us + b.maintenance_us + b.unknown_us == 1000 * S


def test_maintenance_wins_over_unknown():
    t = tl([tr(0, "up")], [cov(0, 500)], windows=[(400, 700)], policy=Policy("down"))
    b = t.breakdown(at(0), at(1000))
    assert (b.maintenance_us, b.unknown_us, b.downtime_us) == (300 * S, 300 * S, 300 * S)


def test_min_downtime_forgives_short_runs_only():
    p = Policy(min_downtime_us=5 * MINUTE_US)
    t = tl(
        [tr(0, "up"), tr(100, "down"), tr(340, "up"), tr(400, "down"), tr(760, "up")],
        [cov(0, 1000)],
        policy=p,
    )
    b = t.breakdown(at(0), at(1000))
    assert b.down_us == 600 * S  # both runs are still shown as down
    assert b.downtime_us == 360 * S  # only the 6-minute run counts
    assert b.availability == pytest.approx(640 / 1000)


def test_min_downtime_run_bridges_unknown_time_of_a_monitor_restart():
    # down 200 s, monitor dead 100 s, down again 200 s: one 400 s run >= 5 min
    p = Policy(min_downtime_us=5 * MINUTE_US)
    t = tl(
        [tr(0, "up"), tr(100, "down"), tr(400, "down", run=2), tr(600, "up", run=2)],
        [cov(0, 300), cov(400, 1000, run=2)],
        policy=p,
    )
    assert t.breakdown(at(0), at(1000)).downtime_us == 400 * S


def test_min_downtime_run_across_an_interval_boundary_counts_on_both_sides():
    p = Policy(min_downtime_us=5 * MINUTE_US)
    t = tl([tr(0, "up"), tr(400, "down"), tr(760, "up")], [cov(0, 1000)], policy=p)
    first, second = t.breakdown(at(0), at(600)), t.breakdown(at(600), at(1000))
    assert (first.downtime_us, second.downtime_us) == (200 * S, 160 * S)


def test_min_downtime_open_run_counts_once_long_enough():
    p = Policy(min_downtime_us=5 * MINUTE_US)
    short = tl([tr(0, "up"), tr(800, "down")], [cov(0, 1000)], policy=p)
    assert short.breakdown(at(0), at(1000)).downtime_us == 0  # 200 s so far
    long = tl([tr(0, "up"), tr(800, "down")], [cov(0, 1200)], hi=1200, policy=p)
    assert long.breakdown(at(0), at(1200)).downtime_us == 400 * S


def test_incident_continues_across_a_monitor_restart():
    t = tl(
        [tr(0, "up"), tr(100, "down", cause="no_controller"), tr(400, "down", run=2),
         tr(600, "up", run=2)],
        [cov(0, 300), cov(400, 1000, run=2)],
    )  # fmt: skip
    (incident,) = t.incidents("prod", "slurmctld", at(0), at(1000))
    assert (incident.start, incident.end) == (at(100), at(600))
    assert incident.cause == "no_controller"
    assert incident.downtime_us == 400 * S and incident.unknown_us == 100 * S
    assert not incident.ongoing
    assert incident.to_dict()["duration_seconds"] == 500.0


def test_incidents_split_by_up_time_and_ongoing_at_the_end():
    t = tl([tr(0, "down"), tr(100, "up"), tr(800, "down")], [cov(0, 1000)])
    first, second = t.incidents("prod", "slurmctld", at(0), at(1000))
    assert (first.start, first.end, first.ongoing) == (at(0), at(100), False)
    assert (second.start, second.ongoing) == (at(800), True)
    assert second.to_dict()["end"] is None


def test_incident_inside_maintenance_is_listed_with_no_downtime():
    t = tl([tr(0, "up"), tr(100, "down"), tr(200, "up")], [cov(0, 1000)], windows=[(50, 300)])
    (incident,) = t.incidents("prod", "slurmctld", at(0), at(1000))
    assert incident.downtime_us == 0 and incident.maintenance_us == 100 * S


def test_breakdown_outside_the_timeline_is_refused():
    t = tl([tr(0, "up")], [cov(0, 1000)])
    with pytest.raises(ValueError, match="outside the timeline"):
        t.breakdown(at(-1), at(10))


def test_error_budget_and_burn_rate():
    budget = error_budget(0.999, 30 * 86400 * S, 1296 * S // 10 * 10)
    assert budget.allowed_seconds == pytest.approx(2592.0)
    assert budget.used_seconds == pytest.approx(1296.0)
    assert budget.remaining_ratio == pytest.approx(0.5)
    spent = error_budget(0.999, 30 * 86400 * S, 3000 * S)
    assert spent.remaining_seconds < 0 and spent.remaining_ratio < 0
    assert error_budget(1.0, 100 * S, 0).remaining_ratio == 1.0
    assert error_budget(1.0, 100 * S, S).remaining_ratio == float("-inf")

    t = tl([tr(0, "up"), tr(3600 - 52, "down")], [cov(0, 3600)], hi=3600)
    # 52 s down in the last hour at 99.9 %: 52/3600 / 0.001 = 14.44: the page threshold
    assert burn_rate(0.999, t.breakdown(at(0), at(3600))) == pytest.approx(14.444, abs=1e-3)
    assert burn_rate(0.999, t.breakdown(at(0), at(0))) is None


def test_burn_rate_counts_unseen_time_as_good():
    """A blip right after the monitor starts must not look like a month's budget burning:
    the hour before the store began is unknown, and counts as good for burn rates only."""
    t = tl([tr(3000, "up"), tr(3590, "down")], [cov(3000, 3600)], hi=3600)
    hour = t.breakdown(at(0), at(3600))
    assert hour.unknown_us == 3000 * S and hour.downtime_us == 10 * S
    assert burn_rate(0.999, hour) == pytest.approx(10 / 3600 / 0.001)
    assert hour.availability == pytest.approx(590 / 600)  # availability still excludes it


def test_projected_eligible_excludes_planned_maintenance_and_past_unknown():
    t = tl([tr(100, "up")], [cov(100, 1000)])
    so_far = t.breakdown(at(0), at(1000))
    month = projected_eligible_us(at(0), at(10_000), 500 * S, so_far, Policy())
    assert month == (10_000 - 500 - 100) * S


def test_state_spans_clip_overlapping_coverage_first_come():
    spans = state_spans(
        [tr(0, "up"), tr(50, "down", run=2)], [cov(0, 100), cov(50, 200, run=2)], at(0), at(200)
    )
    assert [(sp.start - T0) // S for sp in spans] == [0, 100]
    assert [sp.state for sp in spans] == ["up", "down"]


# --- properties ---------------------------------------------------------------------------

STATES = st.sampled_from(["up", "degraded", "down", "unknown"])


@st.composite
def histories(draw):
    n = draw(st.integers(0, 30))
    transitions = [
        Transition(T0 + draw(st.integers(-10**9, 10**10)), draw(st.integers(1, 3)), i,
                   draw(STATES))
        for i in range(n)
    ]  # fmt: skip
    coverage = []
    for _ in range(draw(st.integers(0, 6))):
        a = T0 + draw(st.integers(-(10**9), 10**10))
        coverage.append(Coverage(draw(st.integers(1, 3)), a, a + draw(st.integers(0, 10**9))))
    windows = []
    for _ in range(draw(st.integers(0, 4))):
        a = T0 + draw(st.integers(-(10**9), 10**10))
        windows.append((a, a + draw(st.integers(1, 10**9))))
    windows.sort()
    merged: list[tuple[int, int]] = []
    for a, b in windows:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    policy = Policy(
        draw(st.sampled_from(["excluded", "up", "down"])),
        draw(st.sampled_from([0, MINUTE_US, 5 * MINUTE_US])),
    )
    return transitions, coverage, merged, policy


@settings(max_examples=300, deadline=None)
@given(histories(), st.integers(0, 10**10), st.integers(1, 10**10), st.integers(0, 10**10))
def test_parts_always_add_up_and_availability_stays_in_0_1(history, a, width, cut):
    transitions, coverage, windows, policy = history
    lo, hi = T0 + a, T0 + a + width
    t = timeline(transitions, coverage, windows, lo, hi, policy)
    b = t.breakdown(lo, hi)
    parts = b.up_us + b.degraded_us + b.down_us + b.maintenance_us + b.unknown_us
    assert parts == hi - lo
    assert 0 <= b.downtime_us <= b.eligible_us <= hi - lo
    if b.availability is not None:
        assert 0.0 <= b.availability <= 1.0
    # additivity: splitting the interval anywhere loses and adds nothing
    mid = lo + cut % width
    left, right = t.breakdown(lo, mid), t.breakdown(mid, hi)
    for field in ("up_us", "degraded_us", "down_us", "maintenance_us", "unknown_us",
                  "downtime_us", "eligible_us"):  # fmt: skip
        assert getattr(left, field) + getattr(right, field) == getattr(b, field)
    assert all(sp.end > sp.start for sp in t.spans)
    assert all(x.end == y.start for x, y in zip(t.spans, t.spans[1:], strict=False))


@settings(max_examples=300, deadline=None)
@given(histories(), st.integers(0, 10**10), st.integers(1, 10**10))
def test_maintenance_overlay_matches_a_per_instant_reference(history, a, width):
    transitions, coverage, windows, policy = history
    lo, hi = T0 + a, T0 + a + width
    plain = state_steps(transitions, coverage, lo, hi)
    steps = overlay_maintenance(plain, windows)
    assert steps.bounds[0] == lo and steps.bounds[-1] == hi
    # at every boundary of either input, the state is kept and the flag is "in a window"
    probes = sorted({lo, *plain.bounds[:-1], *(x for w in windows for x in w if lo <= x < hi)})
    for x in probes:
        k = bisect_right(steps.bounds, x) - 1
        j = bisect_right(plain.bounds, x) - 1
        assert steps.states[k] == plain.states[j]
        assert steps.maintenance[k] == any(s <= x < e for s, e in windows)
