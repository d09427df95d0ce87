"""The merge of several replicas' timelines (monitor.ledger.merge): its laws, by
Hypothesis, and the disagreement rules on hand-made cases."""

from __future__ import annotations

from bisect import bisect_right

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.ledger.merge import RULES, Disagreement, choose, merge_steps
from monitor.ledger.sla import (
    DEGRADED,
    DOWN,
    UNKNOWN,
    UNMONITORED,
    UP,
    Policy,
    Steps,
    Timeline,
)

LO, HI = 0, 1000
STATES = (UP, DEGRADED, DOWN, UNKNOWN, UNMONITORED)
OBSERVED = (UP, DEGRADED, DOWN)


def coalesced(bounds: list[int], states: list[str], causes: list[str]) -> Steps:
    b, s, c = [bounds[0]], [], []
    for end, state, cause in zip(bounds[1:], states, causes, strict=True):
        if s and s[-1] == state and c[-1] == cause:
            b[-1] = end
        else:
            b.append(end)
            s.append(state)
            c.append(cause)
    return Steps(b, s, c, [False] * len(s))


@st.composite
def steps(draw) -> Steps:
    cuts = sorted(draw(st.sets(st.integers(LO + 1, HI - 1), max_size=12)))
    bounds = [LO, *cuts, HI]
    n = len(bounds) - 1
    states = draw(st.lists(st.sampled_from(STATES), min_size=n, max_size=n))
    causes = draw(st.lists(st.sampled_from(("x", "y")), min_size=n, max_size=n))
    return coalesced(bounds, states, causes)


replica_sets = st.dictionaries(
    st.sampled_from(("a", "b", "c", "d")), steps(), min_size=1, max_size=4
)


def state_at(s: Steps, t: int) -> str:
    return s.states[bisect_right(s.bounds, t) - 1]


@given(steps(), st.sampled_from(RULES))
def test_merging_one_ledger_is_the_identity(one: Steps, rule: str) -> None:
    merged = merge_steps({"a": one}, rule)
    assert merged.steps == one
    assert merged.disagreements == ()


@given(replica_sets, st.sampled_from(RULES), st.randoms())
def test_the_order_of_replicas_does_not_matter(replicas, rule, rnd) -> None:
    names = list(replicas)
    rnd.shuffle(names)
    assert merge_steps({n: replicas[n] for n in names}, rule) == merge_steps(replicas, rule)


@given(replica_sets, st.sampled_from(RULES))
def test_parts_still_sum_to_the_interval(replicas, rule) -> None:
    merged = merge_steps(replicas, rule).steps
    assert merged.bounds[0] == LO and merged.bounds[-1] == HI
    assert all(x < y for x, y in zip(merged.bounds, merged.bounds[1:], strict=False))
    b = Timeline(merged, Policy()).breakdown(LO, HI)
    assert b.up_us + b.degraded_us + b.down_us + b.maintenance_us + b.unknown_us == HI - LO
    d = merge_steps(replicas, rule).disagreements
    assert all(x.end <= y.start for x, y in zip(d, d[1:], strict=False))


@given(replica_sets, st.sampled_from(RULES), st.integers(LO, HI - 1))
def test_each_instant_follows_the_rule(replicas, rule, t) -> None:
    merged = merge_steps(replicas, rule)
    got = state_at(merged.steps, t)
    views = [state_at(s, t) for s in replicas.values()]
    seen = [v for v in views if v in OBSERVED]
    inside = [d for d in merged.disagreements if d.start <= t < d.end]
    # unknown only where every replica was unknown; absent only where all were absent
    assert (got in (UNKNOWN, UNMONITORED)) == (not seen)
    assert (got == UNMONITORED) == all(v == UNMONITORED for v in views)
    if len(set(seen)) == 1:
        assert got == seen[0] and not inside
    if len(set(seen)) > 1:
        assert got == choose(seen, rule)
        assert len(inside) == 1 and inside[0].chosen == got
        assert dict(inside[0].views) == {n: state_at(s, t) for n, s in replicas.items()}


@settings(max_examples=50)
@given(replica_sets)
def test_rules_order_their_choices(replicas) -> None:
    ups = merge_steps(replicas, "up").steps
    downs = merge_steps(replicas, "down").steps
    rank = {UP: 0, DEGRADED: 1, DOWN: 2}
    for t in range(LO, HI, 7):
        u, d = state_at(ups, t), state_at(downs, t)
        if u in rank:
            assert rank[u] <= rank[d]


def test_a_partition_is_one_disagreement_with_both_views() -> None:
    a = Steps([0, 100, 200, 300], [UP, DOWN, UP], ["ok", "no controller", "ok"], [False] * 3)
    b = Steps([0, 300], [UP], ["ok"], [False])
    for rule, during in (("up", UP), ("down", DOWN), ("majority", UP)):
        merged = merge_steps({"b": b, "a": a}, rule)
        assert merged.disagreements == (Disagreement(100, 200, (("a", DOWN), ("b", UP)), during),)
        assert state_at(merged.steps, 150) == during
    assert merged.disagreements[0].to_dict() == {
        "start": "1970-01-01T00:00:00.000100Z",
        "end": "1970-01-01T00:00:00.000200Z",
        "seconds": 0.0001,
        "chosen": UP,
        "views": {"a": DOWN, "b": UP},
    }


def test_majority_of_three() -> None:
    assert choose([DOWN, DOWN, UP], "majority") == DOWN
    assert choose([DOWN, UP], "majority") == UP
    assert choose([DOWN, DEGRADED], "majority") == DEGRADED


def test_one_replica_absent_is_covered_by_the_other() -> None:
    a = Steps([0, 50, 100], [UP, UNMONITORED], ["ok", "monitor not running"], [False] * 2)
    b = Steps([0, 20, 100], [UNKNOWN, UP], ["monitor started", "ok"], [False] * 2)
    merged = merge_steps({"a": a, "b": b})
    assert merged.steps.states == [UP] and merged.steps.bounds == [0, 100]


def test_bad_rule_and_mismatched_intervals_are_refused() -> None:
    one = Steps([0, 10], [UP], ["ok"], [False])
    with pytest.raises(ValueError, match="rule"):
        merge_steps({"a": one}, "optimistic")
    with pytest.raises(ValueError, match="interval"):
        merge_steps({"a": one, "b": Steps([0, 11], [UP], ["ok"], [False])})


def test_the_config_reader_knows_the_same_rules() -> None:
    from monitor.ha.settings import DISAGREEMENT_RULES

    assert tuple(DISAGREEMENT_RULES) == RULES
