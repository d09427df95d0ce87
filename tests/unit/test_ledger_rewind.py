"""`slurm-sla ledger rewind`: a wall clock set a year forward by mistake dated every round
in the future; after the correction and a restart the ledger holds (nothing counted) until
the clock catches up, a year later. The rewind removes what was dated after the cut, keeps
what came before, keeps a copy, and refuses to touch a store a daemon is writing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from freezegun import freeze_time

from monitor.cli import main
from monitor.ledger.rewind import plan
from monitor.ledger.timebase import to_us
from monitor.statestore import MIGRATIONS
from monitor.store.db import Database
from monitor.store.lock import StateDirLock
from tests.support.ledger import T0, Monitor, config, now

YEAR = dt.timedelta(days=365)


def write_config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[monitor]\nstate_dir = "{tmp_path / "state"}"\ninterval_seconds = 10\n'
        '[[clusters]]\nname = "prod"\naccounting = false\n'
    )
    return path


def a_year_ahead(tmp_path: Path, frozen) -> Monitor:
    """30 min recorded, then the clock jumps a year ahead: 10 min more with an outage."""
    cfg = config(tmp_path / "state")
    first = Monitor(cfg, frozen)
    first.rounds(180)
    first.ledger.write()
    frozen.move_to(now() + YEAR)
    first.rounds(20)
    first.rounds(20, primary=False)
    first.rounds(20)
    first.ledger.write()
    return first


def store(tmp_path: Path) -> Database:
    return Database.in_dir(tmp_path / "state", migrations=MIGRATIONS)


def test_rewind_ends_the_hold_and_keeps_what_came_before(tmp_path, capsys):
    path = write_config(tmp_path)
    with freeze_time(T0) as frozen:
        a_year_ahead(tmp_path, frozen)
        frozen.move_to(T0 + dt.timedelta(minutes=31))  # the clock corrected, a restart
        held = Monitor(config(tmp_path / "state"), frozen)
        held.rounds(3)
        held.ledger.write()
        assert "nothing is counted until it catches up" in held.ledger.problems()[0]

        assert main(["ledger", "rewind", "--config", str(path)]) == 0  # a dry run
        out = capsys.readouterr().out
        # the held run wrote at the mark too: its first states and its segment go as well
        assert "cluster prod: 7 transition(s) and 2 heartbeat segment(s) removed" in out
        assert "dry run: nothing changed" in out
        assert not plan(store(tmp_path), to_us(now())).empty

        assert main(["ledger", "rewind", "--config", str(path), "--apply"]) == 0
        out = capsys.readouterr().out
        (copy,) = (tmp_path / "state" / "backups").iterdir()
        assert f"removed; the store as it was is in {copy}" in out
        after = plan(store(tmp_path), to_us(now()))
        assert after.empty and after.latest_us <= to_us(now())
        kept = Database(copy, migrations=MIGRATIONS)
        assert plan(kept, to_us(now())).clusters[0].transitions == 7  # the copy has all

        restarted = Monitor(config(tmp_path / "state"), frozen)
        restarted.rounds(3)
        assert restarted.ledger.problems() == []
        first = store(tmp_path).query("SELECT MIN(first_us) FROM ledger_heartbeats")[0][0]
        assert first == to_us(T0 + dt.timedelta(seconds=10))  # the first half hour is kept

        assert main(["ledger", "rewind", "--config", str(path)]) == 0
        assert "nothing is dated after the cut" in capsys.readouterr().out


def test_to_cuts_at_a_given_instant(tmp_path, capsys):
    path = write_config(tmp_path)
    with freeze_time(T0) as frozen:
        a_year_ahead(tmp_path, frozen)
    cut = T0 + YEAR + dt.timedelta(minutes=33, seconds=5)  # inside the outage
    argv = ["ledger", "rewind", "--config", str(path), "--to", cut.isoformat(), "--apply"]
    assert main(argv) == 0
    found = plan(store(tmp_path), to_us(cut))
    assert found.empty and found.latest_us == to_us(cut)
    assert "1 segment(s) end at the cut" in capsys.readouterr().out


def test_apply_refuses_while_a_daemon_holds_the_state_dir(tmp_path, capsys):
    path = write_config(tmp_path)
    with freeze_time(T0) as frozen:
        a_year_ahead(tmp_path, frozen)
        frozen.move_to(T0 + dt.timedelta(minutes=31))
        lock = StateDirLock.acquire(tmp_path / "state")
        try:
            assert main(["ledger", "rewind", "--config", str(path), "--apply"]) == 4
            assert "another monitor" in capsys.readouterr().err
            assert main(["ledger", "rewind", "--config", str(path)]) == 0  # looking is fine
        finally:
            lock.release()
        assert not plan(store(tmp_path), to_us(now())).empty


@pytest.mark.parametrize("to", ["yesterday", "2026-12-01T00:00:00"])
def test_a_bad_instant_is_one_line_and_could_not_run(tmp_path, capsys, to):
    path = write_config(tmp_path)
    assert main(["ledger", "rewind", "--config", str(path), "--to", to]) == 4
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("slurm-sla: --to: ")


def test_no_store_is_one_line_and_could_not_run(tmp_path, capsys):
    path = write_config(tmp_path)
    assert main(["ledger", "rewind", "--config", str(path)]) == 4
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
