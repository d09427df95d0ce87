"""A ledger that holds at the store's high-water mark counts nothing (an outage meanwhile
is lost to the SLA), and it said so only in one log line. A new run whose clock is behind
what the store holds (the wall clock set back before a restart, or a store written while the
clock was ahead) now reports it in ``problems()``, so /healthz shows it until it catches up."""

from __future__ import annotations

import datetime as dt

from freezegun import freeze_time

from monitor.ledger.timebase import US
from tests.support.ledger import T0, Monitor, config, now


def test_a_new_run_behind_the_stores_mark_is_a_health_problem_until_it_catches_up(tmp_path):
    cfg = config(tmp_path)
    with freeze_time(T0) as frozen:
        first = Monitor(cfg, frozen)
        first.rounds(360)  # an hour recorded
        first.ledger.write()
        high = now()
        frozen.move_to(high - dt.timedelta(minutes=30))  # set back, then a restart
        second = Monitor(cfg, frozen)
        second.rounds(3)
        (problem,) = second.ledger.problems()
        assert problem.startswith("SLA ledger of cluster prod: this run's clock is ")
        assert "nothing is counted until it catches up" in problem
        held = float(problem.split("clock is ")[1].split(" s behind")[0])
        assert abs(held - (30 * 60 - 30)) <= 10 + 1  # the mark minus where this run is
        second.rounds(181)  # past the mark
        assert second.ledger.problems() == []


def test_a_round_or_two_behind_is_no_problem(tmp_path):
    cfg = config(tmp_path)
    with freeze_time(T0) as frozen:
        m = Monitor(cfg, frozen)
        m.rounds(10)
        frozen.move_to(now() - dt.timedelta(seconds=15))  # a round lands 5 s behind
        m.rounds(1)
        assert m.ledger.problems() == []
        assert 0 < m.ledger._clusters["prod"].held_us < 10 * US  # noqa: SLF001
