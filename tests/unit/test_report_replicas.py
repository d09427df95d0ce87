"""``slurm-sla report --ledger A --ledger B``: the monthly report of an HA pair, merged
(monitor.ledger.replicas): the same bytes whichever replica comes first, disagreements
shown in every format, an outage one replica lost sight of counted whole."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from freezegun import freeze_time

from monitor.cli import main
from monitor.report import render_json
from tests.support.replicas import CONFIG, NOW, pair

FORMATS = ("md", "html", "json", "csv")


@pytest.fixture
def replicas(tmp_path: Path) -> tuple[Path, Path, Path]:
    a, b = pair(tmp_path)
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.format(state=a))
    return config, a, b


def report(capsysbinary, config: Path, *argv: str) -> bytes:
    with freeze_time(NOW):
        code = main(["report", "--config", str(config), "--month", "2026-10", *argv])
    out, err = capsysbinary.readouterr()
    assert code == 0, err
    return out


@pytest.mark.parametrize("fmt", FORMATS)
def test_same_bytes_whichever_replica_comes_first(capsysbinary, replicas, fmt) -> None:
    config, a, b = replicas
    ab = report(capsysbinary, config, "--format", fmt, "--ledger", str(a), "--ledger", str(b))
    ba = report(capsysbinary, config, "--format", fmt, "--ledger", str(b), "--ledger", str(a))
    assert ab == ba
    assert b"mon-a" in ab and b"mon-b" in ab


def doc(capsysbinary, config, *argv) -> dict:
    return json.loads(report(capsysbinary, config, "--format", "json", *argv))


def test_merged_json_counts_the_outage_whole_and_lists_the_disagreement(
    capsysbinary, replicas
) -> None:
    config, a, b = replicas
    d = doc(capsysbinary, config, "--ledger", str(a), "--ledger", str(b))
    pytest.importorskip("jsonschema").validate(d, render_json.SCHEMA)
    assert d["inputs"]["replicas"] == ["mon-a", "mon-b"]
    assert d["inputs"]["settings"]["disagreement"] == "up"
    svc = d["clusters"][0]["services"][0]
    # a saw down 60-90 alone (counted up), both saw 180-260 down (a lost sight at 200)
    assert svc["downtime_seconds"] == 80 * 60
    assert [(i["start"], i["end"]) for i in svc["incidents"]] == [
        ("2026-10-05T13:00:00Z", "2026-10-05T14:20:00Z")
    ]
    # a's absence 200-400 and b's 300-500 overlap 300-400: the only unknown time, but a
    # run's first rounds are unknown until confirmed (a: 400-401)
    assert svc["unknown_seconds"] == 101 * 60
    assert svc["disagreements"] == [
        {
            "start": "2026-10-05T11:00:00Z",
            "end": "2026-10-05T11:30:00Z",
            "seconds": 1800.0,
            "chosen": "up",
            "views": {"mon-a": "down", "mon-b": "up"},
        }
    ]


def test_the_rule_decides_and_majority_of_two_is_up(capsysbinary, replicas) -> None:
    config, a, b = replicas
    pair_args = ("--ledger", str(a), "--ledger", str(b))
    down = doc(capsysbinary, config, *pair_args, "--disagreement", "down")
    svc = down["clusters"][0]["services"][0]
    assert svc["downtime_seconds"] == (80 + 30) * 60
    assert svc["disagreements"][0]["chosen"] == "down"
    majority = doc(capsysbinary, config, *pair_args, "--disagreement", "majority")
    assert majority["clusters"][0]["services"][0]["downtime_seconds"] == 80 * 60


def test_names_given_on_the_command_line(capsysbinary, replicas) -> None:
    config, a, b = replicas
    d = doc(
        capsysbinary,
        config,
        "--ledger",
        f"x={a}",
        "--ledger",
        f"y={b / 'slurm-sla-monitor.sqlite3'}",
    )
    assert d["inputs"]["replicas"] == ["x", "y"]


def test_md_and_csv_show_the_disagreement(capsysbinary, replicas) -> None:
    config, a, b = replicas
    args = ("--ledger", str(a), "--ledger", str(b))
    md = report(capsysbinary, config, "--format", "md", *args).decode()
    assert "### Replicas disagreed" in md
    assert "mon-a: down, mon-b: up" in md
    assert "merged from replicas mon-a, mon-b" in md
    rows = list(
        csv.DictReader(io.StringIO(report(capsysbinary, config, "--format", "csv", *args).decode()))
    )
    dis = [r for r in rows if r["record"] == "disagreement"]
    assert [(r["start"], r["duration_seconds"], r["cause"], r["status"]) for r in dis] == [
        ("2026-10-05T11:00:00Z", "1800", "mon-a: down; mon-b: up", "up")
    ]
    html = report(capsysbinary, config, "--format", "html", *args).decode()
    assert "<h4>Replicas disagreed</h4>" in html


def test_one_replica_alone_has_its_own_gaps(capsysbinary, replicas) -> None:
    config, a, _ = replicas
    svc = doc(capsysbinary, config)["clusters"][0]["services"][0]
    assert "disagreements" not in svc
    assert svc["unknown_seconds"] == 201 * 60  # a's absence 200-400 and its restart


def test_a_ledger_that_is_not_there_is_one_line(capsys, replicas, tmp_path) -> None:
    config, a, _ = replicas
    with freeze_time(NOW):
        code = main(["report", "--config", str(config), "--ledger", str(tmp_path / "nope")])
    assert code == 1
    assert "no such state directory or store file" in capsys.readouterr().err


def test_the_same_name_twice_is_refused(capsys, replicas) -> None:
    config, a, _ = replicas
    with freeze_time(NOW):
        code = main(["report", "--config", str(config), "--ledger", str(a), "--ledger", str(a)])
    assert code == 1
    assert "NAME=PATH" in capsys.readouterr().err


def test_one_ledger_merged_alone_has_the_same_figures(capsysbinary, replicas) -> None:
    config, a, _ = replicas
    plain = doc(capsysbinary, config)
    alone = doc(capsysbinary, config, "--ledger", str(a))
    assert alone["inputs"].pop("replicas") == ["mon-a"]
    assert alone["inputs"]["settings"].pop("disagreement") == "up"
    assert alone["clusters"][0]["services"][0].pop("disagreements") == []
    assert alone == plain
