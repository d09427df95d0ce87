"""``slurm-sla maintenance add|list|remove``: stored, audited, one-line errors, exit 1."""

from __future__ import annotations

import json

import pytest
from freezegun import freeze_time

from monitor.cli import main
from monitor.ledger.store import LedgerStore
from monitor.statestore import MIGRATIONS
from monitor.store.db import Database


@pytest.fixture
def cfg(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[monitor]
state_dir = "{tmp_path / "state"}"
[[clusters]]
name = "prod"
[[clusters]]
name = "test"
[sla]
timezone = "Europe/Berlin"
[[maintenance]]
start = 2026-12-01T02:00:00Z
end = 2026-12-01T04:00:00Z
clusters = ["prod"]
reason = "Slurm upgrade"
"""
    )
    return path


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@freeze_time("2026-11-30T12:00:00Z")  # its windows are ahead of this
def test_add_list_remove(cfg, capsys):
    code, out, _ = run(
        capsys, "maintenance", "add", "--config", str(cfg), "--start", "2026-12-06T02:00:00+01:00",
        "--end", "2026-12-06T04:00:00+01:00", "--cluster", "prod", "--service", "slurmctld",
        "--repeat", "weekly", "--until", "2027-03-01T00:00:00Z", "--reason", "patching",
        "--by", "alice",
    )  # fmt: skip
    assert code == 0 and out.startswith("added maintenance window 1:")
    code, out, _ = run(capsys, "maintenance", "list", "--config", str(cfg))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["ID", "ORIGIN", "START", "END"]
    assert "weekly until 2027-03-01T00:00:00Z" in lines[1] and "alice" in lines[1]
    assert "config (pending reload)" in lines[2]  # in the file, not yet mirrored
    code, out, _ = run(capsys, "maintenance", "list", "--config", str(cfg), "--json")
    (cli, pending) = json.loads(out)["windows"]
    assert cli["services"] == ["slurmctld"] and cli["timezone"] == "Europe/Berlin"
    assert pending["pending"] is True and pending["id"] is None
    code, out, _ = run(
        capsys,
        "maintenance",
        "remove",
        "1",
        "--config",
        str(cfg),
        "--reason",
        "done",
        "--by",
        "bob",
    )
    assert code == 0 and "cancelled from now on" in out
    code, out, _ = run(capsys, "maintenance", "list", "--config", str(cfg), "--json")
    assert [w["id"] for w in json.loads(out)["windows"]] == [None]
    code, out, _ = run(capsys, "maintenance", "list", "--config", str(cfg), "--json", "--all")
    removed = json.loads(out)["windows"][0]
    assert (removed["removed_by"], removed["removed_reason"]) == ("bob", "done")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--start", "2026-12-06T02:00:00", "--end", "2026-12-06T04:00:00Z"], "UTC offset"),
        (["--start", "2026-12-06T05:00:00Z", "--end", "2026-12-06T04:00:00Z"], "after start"),
        (["--start", "2026-12-06T02:00Z", "--end", "2026-12-06T04:00Z", "--cluster", "x"],
         "no cluster named 'x'"),
        (["--start", "2026-12-06T02:00Z", "--end", "2026-12-06T04:00Z", "--until",
          "2026-12-07T00:00Z"], "--until needs --repeat"),
        (["--start", "2026-12-06T02:00Z", "--end", "2026-12-07T04:00Z", "--repeat", "daily",
          "--forever"], "shorter than its period"),
        (["--start", "2026-12-06T02:00Z", "--end", "2026-12-06T04:00Z", "--repeat", "daily"],
         "--repeat daily needs --until ISO (the last repetition) or --forever"),
        (["--start", "2026-12-06T02:00Z", "--end", "2026-12-06T04:00Z", "--forever"],
         "--forever goes with --repeat and without --until"),
        (["--start", "2026-12-06T02:00Z", "--end", "2026-12-06T04:00Z", "--repeat", "weekly",
          "--until", "2027-01-01T00:00Z", "--forever"], "--forever goes with --repeat"),
        (["--start", "2026-11-01T02:00Z", "--end", "2026-11-01T04:00Z"],
         "in the past: the window would erase downtime already recorded; add --retroactive"),
    ],
)  # fmt: skip
@freeze_time("2026-11-30T12:00:00Z")
def test_add_errors_are_one_line_and_exit_1(cfg, capsys, argv, message):
    code, out, err = run(capsys, "maintenance", "add", "--config", str(cfg), *argv)
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err


@freeze_time("2026-11-30T12:00:00Z")  # its windows are ahead of this
def test_config_windows_cannot_be_removed_here(cfg, capsys, tmp_path):
    from monitor.config import load_config
    from monitor.ledger.ledger import Ledger

    ledger = Ledger.open(load_config(cfg))  # the daemon mirrors the config's windows
    ledger.close()
    capsys.readouterr()  # its log lines
    code, out, _ = run(capsys, "maintenance", "list", "--config", str(cfg), "--json")
    (window,) = json.loads(out)["windows"]
    assert window["origin"] == "config" and window["pending"] is False
    code, _, err = run(capsys, "maintenance", "remove", str(window["id"]), "--config", str(cfg))
    assert code == 1 and "defined in the config file" in err and str(cfg) in err
    code, _, err = run(capsys, "maintenance", "remove", "99", "--config", str(cfg))
    assert code == 1 and "no maintenance window 99" in err


def test_remove_twice_and_purge(cfg, capsys, tmp_path):
    args = ["--config", str(cfg), "--start", "2026-01-01T00:00Z", "--end", "2026-01-01T01:00Z",
            "--retroactive"]  # fmt: skip
    run(capsys, "maintenance", "add", *args)
    code, out, _ = run(capsys, "maintenance", "remove", "1", "--config", str(cfg), "--purge")
    assert code == 0 and "purged" in out
    code, _, err = run(capsys, "maintenance", "remove", "1", "--config", str(cfg))
    assert code == 1 and "already removed" in err
    store = LedgerStore(Database.in_dir(tmp_path / "state", migrations=MIGRATIONS))
    (w,) = store.windows(include_removed=True)
    assert w.removed and w.effective_us is None  # purged: no occurrence survives


def test_a_corrupt_store_is_one_line(cfg, capsys, tmp_path):
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "slurm-sla-monitor.sqlite3").write_bytes(b"junk" * 1000)
    code, _, err = run(capsys, "maintenance", "list", "--config", str(cfg))
    assert code == 4 and "corrupt" in err and len(err.strip().splitlines()) == 1


@freeze_time("2026-11-30T12:00:00Z")
def test_a_window_in_the_past_needs_retroactive_and_a_repeat_needs_an_end(cfg, capsys):
    past = ["--config", str(cfg), "--start", "2026-11-30T10:00Z", "--end", "2026-11-30T11:00Z"]
    code, _, err = run(capsys, "maintenance", "add", *past)
    assert code == 1 and "--retroactive" in err
    assert (
        LedgerStore(Database.in_dir(cfg.parent / "state", migrations=MIGRATIONS)).windows() == []
    )  # nothing stored
    code, out, err = run(capsys, "maintenance", "add", *past, "--retroactive")
    assert code == 0 and out.startswith("added maintenance window 1:")
    assert "is retroactive" in err
    code, out, err = run(
        capsys, "maintenance", "add", "--config", str(cfg), "--start", "2026-12-06T02:00Z",
        "--end", "2026-12-06T04:00Z", "--repeat", "weekly", "--forever",
    )  # fmt: skip
    assert code == 0 and err == ""
    code, out, _ = run(capsys, "maintenance", "list", "--config", str(cfg), "--json")
    assert [(w["id"], w["repeat"], w["until"]) for w in json.loads(out)["windows"]][:2] == [
        (1, "none", None),
        (2, "weekly", None),
    ]


@freeze_time("2026-11-30T12:00:00Z")
def test_list_all_says_purged_or_cancelled(cfg, capsys):
    for day in ("06", "07"):
        run(capsys, "maintenance", "add", "--config", str(cfg), "--start", f"2026-12-{day}T02:00Z",
            "--end", f"2026-12-{day}T04:00Z")  # fmt: skip
    run(capsys, "maintenance", "remove", "1", "--config", str(cfg), "--by", "bob")
    run(capsys, "maintenance", "remove", "2", "--config", str(cfg), "--purge", "--by", "eve")
    code, out, _ = run(capsys, "maintenance", "list", "--config", str(cfg), "--json", "--all")
    windows = json.loads(out)["windows"]
    assert [(w["id"], w["removal"]) for w in windows[:2]] == [(1, "cancelled"), (2, "purged")]
    code, out, _ = run(capsys, "maintenance", "list", "--config", str(cfg), "--all")
    lines = out.splitlines()
    assert "cli (cancelled 2026-11-30T12:00:00Z by bob)" in lines[1]
    assert "cli (purged 2026-11-30T12:00:00Z by eve)" in lines[2]
