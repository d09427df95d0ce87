"""`slurm-sla demo --real` without importing the test tree: the command becomes the
checkout's driver (tests/support/real_demo.py), which runs the same demo with the real lab
as its target. (The run against the lab itself: tests/integration/test_demo.py.)"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from monitor import cli, demo
from tests.support import real_demo
from tests.support.import_graph import REPO


class Became(Exception):
    """os.execv was called (the process would have been replaced)."""


@pytest.fixture
def execv(monkeypatch) -> list[list[str]]:
    calls: list[list[str]] = []

    def fake(path: str, argv: list[str]) -> None:
        calls.append([path, *argv])
        raise Became

    monkeypatch.setattr(demo.os, "execv", fake)
    return calls


def test_real_in_a_checkout_becomes_the_driver_with_the_same_arguments(
    monkeypatch, execv, tmp_path
):
    monkeypatch.chdir(REPO)
    out = tmp_path / "reports"
    argv = ["demo", "--real", "--duration", "120", "--listen", "127.0.0.1:0", "--output", str(out)]
    with pytest.raises(Became):
        cli.main(argv)
    driver = ["-m", "tests.support.real_demo", "--duration", "120.0", "--listen", "127.0.0.1:0"]
    assert execv == [[sys.executable, sys.executable, *driver, "--output", str(out)]]
    assert not out.exists()  # the driver makes it


def test_real_outside_a_checkout_could_not_run(monkeypatch, execv, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["demo", "--real", "--duration", "30"]) == 4
    assert capsys.readouterr().err == f"slurm-sla: {demo.REAL_NEEDS_CHECKOUT}\n"
    assert execv == []


def test_a_short_duration_is_refused_before_becoming_anything(monkeypatch, execv, capsys):
    monkeypatch.chdir(REPO)
    assert cli.main(["demo", "--real", "--duration", "5"]) == 4
    assert "--duration must be at least 20 seconds" in capsys.readouterr().err
    assert execv == []


def test_the_driver_runs_the_demo_with_the_lab_as_target(monkeypatch, execv, tmp_path):
    seen = {}

    def run_demo(duration, listen, out_dir, report=None, target=None) -> int:
        seen.update(duration=duration, listen=listen, out_dir=out_dir, target=target)
        return 0

    monkeypatch.setattr(demo, "run_demo", run_demo)
    out = tmp_path / "r"
    args = ["--duration", "120.0", "--listen", "127.0.0.1:0", "--output", str(out)]
    assert real_demo.main(args) == 0
    assert seen == {
        "duration": 120.0,
        "listen": "127.0.0.1:0",
        "out_dir": Path(out),
        "target": real_demo.RealLab,
    }
    assert execv == []


def test_the_lab_is_a_demo_target():
    # Structural: every member the demo's script uses, with the lab's own banner.
    for member in ("cluster_toml", "covers", "enter", "close"):
        assert callable(getattr(real_demo.RealLab, member))
    assert real_demo.RealLab.banner.startswith("REAL CLUSTER:")
    assert real_demo.RealLab.tag == "REAL"
