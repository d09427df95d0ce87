"""/metrics rendered on change, not per scrape (exporters.exposition): a scrape gets the last
render's bytes, a change is rendered within the period, the last state wins, and the period
grows with the render's cost."""

from __future__ import annotations

import gc
import threading

import pytest

from exporters.exposition import ExpositionCache

TEXT = "text/plain; version=0.0.4; charset=utf-8"


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Source:
    """What the collectors would show: a state, and a count of renders."""

    def __init__(self, clock: FakeClock, cost: float = 0.0) -> None:
        self.state = 0
        self.renders = 0
        self.clock = clock
        self.cost = cost
        self.rendered = threading.Condition()

    def render(self) -> bytes:
        with self.rendered:
            self.renders += 1
            self.clock.now += self.cost  # the render's own time, on the fake clock
            body = f"state {self.state}\n".encode()
            self.rendered.notify_all()
            return body

    def wait_for(self, predicate) -> bool:
        with self.rendered:
            return self.rendered.wait_for(predicate, timeout=10)


def test_scrapes_within_max_age_share_one_render():
    clock = FakeClock()
    src = Source(clock)
    cache = ExpositionCache(clock=clock)
    assert cache.get(TEXT, src.render) == b"state 0\n"
    src.state = 1
    clock.now += 0.5
    assert cache.get(TEXT, src.render) == b"state 0\n"
    assert src.renders == 1


def test_a_change_is_rendered_in_the_background_and_scrapes_never_render():
    clock = FakeClock()
    src = Source(clock)
    cache = ExpositionCache(clock=clock)
    cache.start()
    try:
        cache.get(TEXT, src.render)
        src.state = 1
        cache.changed()  # quiet before: rendered at once, not a period later
        assert src.wait_for(lambda: src.renders == 2)
        assert src.wait_for(lambda: cache.get(TEXT, src.render) == b"state 1\n")
        src.state = 2
        cache.changed()  # within the period of the last render: held back
        renders = src.renders
        assert cache.get(TEXT, src.render) == b"state 1\n"  # the bytes it has, no render
        assert src.renders == renders
        clock.now += cache.period  # the period has passed: the held change is rendered
        cache.changed()
        assert src.wait_for(lambda: cache.get(TEXT, src.render) == b"state 2\n")
    finally:
        cache.stop()


def test_the_last_state_wins_whatever_the_burst():
    clock = FakeClock()
    src = Source(clock)
    cache = ExpositionCache(clock=clock)
    cache.start()
    try:
        cache.get(TEXT, src.render)
        for state in range(1, 500):  # 500 snapshots in one instant: one render, or two
            src.state = state
            cache.changed()
        clock.now += cache.period
        cache.changed()
        assert src.wait_for(lambda: cache.get(TEXT, src.render) == b"state 499\n")
        assert src.renders <= 3
    finally:
        cache.stop()


def test_the_period_grows_with_the_render_cost():
    clock = FakeClock()
    src = Source(clock, cost=0.8)  # a fleet-sized render
    cache = ExpositionCache(clock=clock, cpu_clock=clock, max_age=1.0, budget=0.2)
    cache.get(TEXT, src.render)
    assert abs(cache.period - 0.8 / 0.2) < 1e-6  # at most a fifth of a core on rendering
    small = Source(clock, cost=0.001)
    other = ExpositionCache(clock=clock, cpu_clock=clock, max_age=1.0, budget=0.2)
    other.get(TEXT, small.render)
    assert other.period == 1.0  # never more often than max_age



def test_the_period_follows_every_variant_a_pass_renders():
    """A client asking once for each variant (text, OpenMetrics, gzipped or not) makes
    every background pass render them all: the period set by one render's CPU let four
    renders spend four budgets of a core."""
    clock = FakeClock()
    src = Source(clock, cost=0.8)
    cache = ExpositionCache(clock=clock, cpu_clock=clock, max_age=1.0, budget=0.2)
    for key in (TEXT, TEXT + ";gzip", "application/openmetrics-text", "om;gzip"):
        cache.get(key, src.render)
    cache.changed()
    cache.stop()  # serves the pending ask here: one pass over the four, on this thread
    assert src.renders == 8
    assert abs(cache.period - 4 * 0.8 / 0.2) < 1e-6

def test_values_that_move_without_a_snapshot_are_rendered_after_max_age():
    clock = FakeClock()
    src = Source(clock)
    cache = ExpositionCache(clock=clock, max_age=1.0)
    cache.start()
    try:
        cache.get(TEXT, src.render)
        src.state = 1  # e.g. the process's CPU seconds: no snapshot says so
        clock.now += 1.0
        assert cache.get(TEXT, src.render) == b"state 0\n"  # this scrape: the bytes it found
        assert src.wait_for(lambda: cache.get(TEXT, src.render) == b"state 1\n")
    finally:
        cache.stop()


def test_without_the_thread_an_old_render_is_redone_by_the_scrape():
    clock = FakeClock()
    src = Source(clock)
    cache = ExpositionCache(clock=clock)
    cache.get(TEXT, src.render)
    src.state = 1
    cache.changed()
    assert cache.get(TEXT, src.render) == b"state 1\n"


def test_renders_run_without_cyclic_collections_and_leave_them_as_they_were():
    """A render's many short-lived objects set off full collections of the daemon's heap
    (hundreds of ms with the GIL held, a scrape waiting); off while rendering, then on again,
    whether the render ends or fails; off before stays off."""
    clock = FakeClock()
    seen = []

    def render() -> bytes:
        seen.append(gc.isenabled())
        return b"x\n"

    def broken() -> bytes:
        seen.append(gc.isenabled())
        raise RuntimeError("collector bug")

    cache = ExpositionCache(clock=clock)
    assert gc.isenabled()
    cache.get(TEXT, render)
    assert seen == [False] and gc.isenabled()
    with pytest.raises(RuntimeError):
        cache.get("other", broken)
    assert seen == [False, False] and gc.isenabled()
    cache.start()
    try:
        clock.now += 1.0
        cache.changed()  # the background render
        waited = threading.Event()
        for _ in range(1000):  # up to 10 s
            if len(seen) >= 3 or waited.wait(0.01):
                break
        assert seen[2:3] == [False]
    finally:
        cache.stop()
    assert gc.isenabled()
    gc.disable()
    try:
        ExpositionCache(clock=clock).get(TEXT, render)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_content_types_are_cached_apart():
    clock = FakeClock()
    cache = ExpositionCache(clock=clock)
    assert cache.get("a", lambda: b"text") == b"text"
    assert cache.get("b", lambda: b"openmetrics") == b"openmetrics"
    assert cache.get("a", lambda: b"not asked") == b"text"


def test_rendering_family_by_family_gives_the_same_bytes():
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
    from prometheus_client.exposition import choose_encoder

    from exporters.exposition import render_by_family

    registry = CollectorRegistry()
    Gauge("g", "a gauge", ["cluster"], registry=registry).labels('a"b').set(1.5)
    Counter("c", "a counter", registry=registry).inc(3)
    Histogram("h", "a histogram", registry=registry).observe(0.2)
    for accept in ("", "application/openmetrics-text; version=1.0.0"):
        encoder, _ = choose_encoder(accept)
        whole = encoder(registry)
        assert render_by_family(encoder, registry) == whole
        assert b"# TYPE g gauge" in whole and b"h_bucket" in whole
